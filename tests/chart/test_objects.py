"""What the rendered objects must say: security, probes, wiring, data safety."""

from __future__ import annotations

import base64

import pytest

from tests.support import chart_checks
from todo_deploy.base.run import Runner
from todo_deploy.steps import manifests

SCENARIOS = chart_checks.scenarios()
DEV = SCENARIOS["dev"]
PROD = SCENARIOS["prod"]
EXTERNAL_DB = SCENARIOS["ci/external-db-values.yaml"]
APPS = {
    "frontend": (3000, "/api/health", "/api/health"),
    "backend": (8000, "/health", "/ready"),
    "mcp": (8001, "/health", "/health"),
}


def by_kind(objects, kind):
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def pod_specs(objects):
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet"):
            yield obj["metadata"]["name"], obj["spec"]["template"]
        elif obj["kind"] == "Pod":
            yield obj["metadata"]["name"], obj


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_renders_valid_objects(render, scenario):
    objects = render(SCENARIOS[scenario])
    assert chart_checks.validate_objects((scenario, o) for o in objects) == []


@pytest.mark.parametrize("scenario", ["default", "dev"])
def test_pods_run_locked_down(render, scenario):
    for name, pod in pod_specs(render(SCENARIOS[scenario])):
        spec = pod["spec"]
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["enableServiceLinks"] is False, name
        assert spec["securityContext"]["runAsUser"] == 10001, name
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        tmp = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for container in spec["containers"] + spec.get("initContainers", []):
            ctx = container["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True, name
            assert ctx["allowPrivilegeEscalation"] is False, name
            assert ctx["capabilities"] == {"drop": ["ALL"]}, name
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") in tmp, f"{name}: /tmp must be an emptyDir"
            res = container["resources"]
            assert res["requests"]["memory"] == res["limits"]["memory"], name


def test_app_deployments_probe_roll_and_label_as_the_contract_says(render):
    objects = render(DEV)
    deployments = by_kind(objects, "Deployment")
    assert set(deployments) == {f"todo-{c}" for c in APPS}
    for component, (port, health, ready) in APPS.items():
        dep = deployments[f"todo-{component}"]
        assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        assert set(dep["spec"]["selector"]["matchLabels"]) == {
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/component",
        }
        labels = dep["spec"]["template"]["metadata"]["labels"]
        assert labels["app"] == "todo-chatbot" and labels["component"] == component
        annotations = dep["spec"]["template"]["metadata"]["annotations"]
        assert {"checksum/config", "checksum/secret"} <= set(annotations)
        container = dep["spec"]["template"]["spec"]["containers"][0]
        assert container["ports"][0]["containerPort"] == port
        assert container["imagePullPolicy"] == "Never"
        assert container["image"].startswith(f"todo-{component}:")
        # No startup probe (one more period per cold start); liveness waits instead.
        assert "startupProbe" not in container
        assert container["livenessProbe"]["httpGet"]["path"] == health
        assert container["livenessProbe"]["initialDelaySeconds"] >= 10
        assert container["readinessProbe"]["httpGet"]["path"] == ready
        assert container["readinessProbe"]["periodSeconds"] <= 2
    assert {d["metadata"]["namespace"] for d in objects if d["kind"] != "Namespace"} == {"todo-app"}


def test_config_and_secret_changes_roll_the_pods(render):
    def checksums(set_values):
        pod = by_kind(render([], set_values), "Deployment")["todo-backend"]["spec"]["template"]
        return pod["metadata"]["annotations"]

    base = checksums({})
    assert checksums({"config.logLevel": "DEBUG"})["checksum/config"] != base["checksum/config"]
    rotated = checksums({"secrets.openaiApiKey": "sk-new-key"})
    assert rotated["checksum/secret"] != base["checksum/secret"]
    assert checksums({"postgresql.storage.size": "2Gi"}) == base, "storage is not a secret"


def test_frontend_has_a_writable_next_cache(render):
    pod = by_kind(render(DEV), "Deployment")["todo-frontend"]["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/app/.next/cache"]]


def test_notes_tell_how_to_reach_the_app(tools):
    argv = [str(tools.helm), "install", "todo", str(manifests.CHART_DIR), "--dry-run=client",
            "--namespace", "todo-app", "--values", str(DEV[0])]  # fmt: skip
    notes = Runner().run(argv, mutating=False).stdout.split("NOTES:", 1)[1]
    assert "Open http://todo.local (ingress class nginx)" in notes
    assert "logs deploy/todo-backend -c migrate" in notes


def test_replicas_follow_the_plan(render):
    replicas = {n: d["spec"]["replicas"] for n, d in by_kind(render([]), "Deployment").items()}
    assert replicas == {"todo-frontend": 2, "todo-backend": 2, "todo-mcp": 1}


def test_limits_follow_the_plan(render):
    limits = {
        n: d["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
        for n, d in by_kind(render([]), "Deployment").items()
    }
    # A whole CPU each, for the burst of a cold start (imports, Next's server); limits do
    # not count when scheduling, the requests are what must fit the node.
    assert limits == {
        "todo-frontend": {"cpu": "1", "memory": "256Mi"},
        "todo-backend": {"cpu": "1", "memory": "512Mi"},
        "todo-mcp": {"cpu": "1", "memory": "256Mi"},
    }


def test_backend_migrates_in_an_init_container_that_shows_its_error(render):
    pod = by_kind(render(DEV), "Deployment")["todo-backend"]["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    assert init["command"] == ["python", "-m", "todo_backend.migrate"]
    assert init["image"] == pod["containers"][0]["image"]
    assert init["terminationMessagePolicy"] == "FallbackToLogsOnError"
    # The owner's URL, and each service's, whose role it lets log in.
    assert [e["name"] for e in init["env"]] == [
        "DATABASE_URL",
        "BACKEND_DATABASE_URL",
        "FRONTEND_DATABASE_URL",
        "MCP_DATABASE_URL",
    ]


def test_each_service_connects_as_its_own_role_never_the_owner(render):
    pods = by_kind(render(DEV), "Deployment")
    for component in ("frontend", "backend", "mcp"):
        (container,) = pods[f"todo-{component}"]["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef", {}) for e in container["env"]}
        assert env["DATABASE_URL"]["key"] == f"{component.upper()}_DATABASE_URL"
        assert not any(ref.get("key") == "DATABASE_URL" for ref in env.values())
        assert "POSTGRES_PASSWORD" not in env


def test_invoke_watch_can_leave_the_migrations_out_of_a_roll(render):
    deployments = by_kind(render(DEV, {"migrateOnStart": "false"}), "Deployment")
    assert "initContainers" not in deployments["todo-backend"]["spec"]["template"]["spec"]


def test_services_are_wired_by_stable_names(render):
    objects = render(DEV)
    config = by_kind(objects, "ConfigMap")["todo-config"]["data"]
    assert config["AUTH_JWKS_URL"] == "http://todo-frontend:3000/api/auth/jwks"
    assert config["MCP_SERVER_URL"] == "http://todo-mcp:8001/mcp"
    assert "todo-mcp:8001" in config["MCP_ALLOWED_HOSTS"].split(",")
    assert config["BETTER_AUTH_URL"] == "http://todo.local"
    assert config["TRUSTED_ORIGINS"].split(",")[0] == "http://todo.local"
    services = by_kind(objects, "Service")
    ports = {n: s["spec"]["ports"][0]["port"] for n, s in services.items()}
    assert ports == {
        "todo-frontend": 3000,
        "todo-backend": 8000,
        "todo-mcp": 8001,
        "todo-postgres": 5432,
    }


def ingress_paths(objects) -> list[dict]:
    """Every path of the app's Ingresses (one host), as one table."""
    paths = []
    for ingress in by_kind(objects, "Ingress").values():
        (rule,) = ingress["spec"]["rules"]
        assert rule["host"] == "todo.local"
        paths += rule["http"]["paths"]
    return paths


def test_ingress_routes_api_to_backend_but_auth_to_frontend(render):
    ingresses = by_kind(render(DEV), "Ingress")
    assert set(ingresses) == {"todo-ingress", "todo-api-ingress"}
    assert {i["spec"]["ingressClassName"] for i in ingresses.values()} == {"nginx"}
    routes = {
        p["path"]: (p["pathType"], p["backend"]["service"]["name"])
        for p in ingress_paths(render(DEV))
    }
    assert routes == {
        "/api/auth/": ("Prefix", "todo-frontend"),
        "/api/health": ("Exact", "todo-frontend"),
        "/api": ("Prefix", "todo-backend"),
        "/health": ("Prefix", "todo-backend"),
        "/ready": ("Prefix", "todo-backend"),
        "/": ("Prefix", "todo-frontend"),
    }
    for ingress in ingresses.values():
        assert not any("rewrite" in k for k in ingress["metadata"].get("annotations") or {})
    traefik = render(DEV, {"ingress.ingressClassName": "traefik"})
    classes = {i["spec"]["ingressClassName"] for i in by_kind(traefik, "Ingress").values()}
    assert classes == {"traefik"}


def _served_by(paths: list[dict], host: str, request: str, *, traefik: bool) -> set[str]:
    """Which Service(s) a request path reaches: Traefik ranks matching routes by the length of
    their rule (Host("h") && PathPrefix("/p")) and matches prefixes character-wise; nginx (the
    Ingress spec) prefers an exact match, then the longest prefix, element-wise."""
    matching = []
    for p in paths:
        path, kind = p["path"], p["pathType"]
        if kind == "Exact":
            hit = request == path
        elif traefik:
            hit = request.startswith(path)
        else:
            base = path.rstrip("/")
            hit = path == "/" or request == base or request.startswith(base + "/")
        if hit:
            matcher = "Path" if kind == "Exact" else "PathPrefix"
            rank = (
                len(f'Host("{host}") && {matcher}("{path}")')
                if traefik
                else (kind == "Exact", len(path.rstrip("/")))
            )
            matching.append((rank, p["backend"]["service"]["name"]))
    best = max(rank for rank, _ in matching)
    return {service for rank, service in matching if rank == best}


@pytest.mark.parametrize("traefik", [True, False], ids=["traefik", "nginx"])
def test_each_path_reaches_one_service_on_either_controller(render, traefik):
    paths, host = ingress_paths(render(DEV)), "todo.local"
    expected = {
        "/health": "todo-backend", "/ready": "todo-backend", "/api/health": "todo-frontend",
        "/api/auth/get-session": "todo-frontend", "/api/u1/tasks": "todo-backend",
        "/api/healthx": "todo-backend", "/api/health/x": "todo-backend",
        "/api/authx/session": "todo-backend", "/sign-in": "todo-frontend", "/": "todo-frontend",
    }  # fmt: skip
    for request, service in expected.items():
        assert _served_by(paths, host, request, traefik=traefik) == {service}, request


def test_one_body_limit_reaches_the_ingress_and_both_servers(render):
    default = render(DEV)
    assert by_kind(default, "ConfigMap")["todo-config"]["data"]["MAX_BODY_BYTES"] == "65536"
    for ingress in by_kind(default, "Ingress").values():
        notes = ingress["metadata"]["annotations"]
        assert notes == {"nginx.ingress.kubernetes.io/proxy-body-size": "64k"}
    assert not by_kind(default, "Middleware")  # Traefik without its CRDs has no such kind
    traefik = render(DEV, {"ingress.traefikMiddleware": "true", "limits.bodyBytes": "10240"})
    (middleware,) = by_kind(traefik, "Middleware").values()
    assert middleware["spec"] == {"buffering": {"maxRequestBodyBytes": 10240}}
    pages, api = (by_kind(traefik, "Ingress")[n] for n in ("todo-ingress", "todo-api-ingress"))
    notes = pages["metadata"]["annotations"]
    assert notes["traefik.ingress.kubernetes.io/router.middlewares"] == (
        f"{middleware['metadata']['namespace']}-{middleware['metadata']['name']}@kubernetescrd"
    )
    assert notes["nginx.ingress.kubernetes.io/proxy-body-size"] == "10k"
    # Buffering holds the whole response back: the chat's event stream (under /api) goes without.
    assert [p["path"] for p in api["spec"]["rules"][0]["http"]["paths"]] == ["/api"]
    assert "traefik.ingress.kubernetes.io/router.middlewares" not in api["metadata"]["annotations"]
    assert by_kind(traefik, "ConfigMap")["todo-config"]["data"]["MAX_BODY_BYTES"] == "10240"


def test_embedded_postgres_keeps_its_data(render):
    objects = render([])
    sts = by_kind(objects, "StatefulSet")["todo-postgres"]
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    mounts = sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": claim["metadata"]["name"], "mountPath": "/var/lib/postgresql/data"} in mounts
    env = {e["name"]: e for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["PGDATA"]["value"] == "/var/lib/postgresql/data/pgdata"
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "todo-secrets"


def test_host_path_volume_is_pre_bound_to_the_database_claim(render):
    objects = render(SCENARIOS["ci/dev-values.yaml"])
    (volume,) = by_kind(objects, "PersistentVolume").values()
    sts = by_kind(objects, "StatefulSet")["todo-postgres"]
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    claim_name = f"{claim['metadata']['name']}-{sts['metadata']['name']}-0"
    assert volume["spec"]["claimRef"] == {"namespace": "todo-app", "name": claim_name}
    assert volume["spec"]["storageClassName"] == claim["spec"]["storageClassName"] == ""
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert volume["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert not by_kind(render([]), "PersistentVolume"), "dynamic provisioning by default"


def test_secret_builds_database_url_from_the_generated_password(render):
    secret = by_kind(render([]), "Secret")["todo-secrets"]
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    roles = {"BACKEND": "todo_backend", "MCP": "todo_mcp", "FRONTEND": "todo_frontend"}
    assert set(data) == {
        "DATABASE_URL",
        "BETTER_AUTH_SECRET",
        "MCP_API_TOKEN",
        "POSTGRES_PASSWORD",
    } | {
        key
        for service in roles
        for key in (f"{service}_DATABASE_URL", f"POSTGRES_{service}_PASSWORD")
    }
    password = data["POSTGRES_PASSWORD"]
    assert data["DATABASE_URL"] == f"postgresql://todo:{password}@todo-postgres:5432/todo"
    for service, role in roles.items():
        own = data[f"POSTGRES_{service}_PASSWORD"]
        assert len(own) >= 32 and own != password
        url = f"postgresql://{role}:{own}@todo-postgres:5432/todo"
        assert data[f"{service}_DATABASE_URL"] == url
    assert len(data["BETTER_AUTH_SECRET"]) >= 32 and len(data["MCP_API_TOKEN"]) >= 32


def test_external_database_runs_no_postgres(render):
    objects = render(EXTERNAL_DB)
    assert not [o for o in objects if "postgres" in o["metadata"]["name"]]
    data = by_kind(objects, "Secret")["todo-secrets"]["data"]
    url = base64.b64decode(data["DATABASE_URL"]).decode()
    assert url == "postgresql://todo:secret@db.example.com:5432/todo"
    mcp = base64.b64decode(data["MCP_DATABASE_URL"]).decode()
    assert mcp.startswith("postgresql://todo_mcp:") and mcp.endswith("@db.example.com:5432/todo")


def test_existing_secret_replaces_the_charts_secret(render):
    objects = render(SCENARIOS["ci/prod-values.yaml"])
    assert not by_kind(objects, "Secret")
    refs = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for _, pod in pod_specs(objects)
        for c in pod["spec"]["containers"]
        for e in c.get("env", [])
        if "valueFrom" in e
    }
    assert refs == {"todo-prod-secrets"}


def test_network_policies_isolate_mcp_and_postgres(render):
    policies = by_kind(render(DEV), "NetworkPolicy")
    assert policies["todo-default-deny"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}

    def allowed(name):
        (rule,) = policies[name]["spec"]["ingress"]
        peer = rule["from"][0]["podSelector"]["matchExpressions"]
        return next(e["values"] for e in peer if e["key"] == "app.kubernetes.io/component")

    assert allowed("todo-mcp") == ["backend"]
    assert sorted(allowed("todo-postgres")) == ["backend", "frontend", "mcp"]
    assert len(policies["todo-mcp"]["spec"]["ingress"][0]["from"]) == 1, "no ingress controller"


@pytest.mark.parametrize(
    ("scenario", "controller"),
    [
        # The chart's default: ingress-nginx's namespace, never any namespace.
        (
            [],
            [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                    }
                }
            ],
        ),
        # The host cluster's Traefik runs on the node, which policies always admit.
        (SCENARIOS["ci/dev-values.yaml"], []),
    ],
)
def test_the_front_end_and_back_end_admit_the_app_and_its_controller_only(
    render, scenario, controller
):
    policies = by_kind(render(scenario), "NetworkPolicy")
    for name in ("todo-frontend", "todo-backend"):
        (rule,) = policies[name]["spec"]["ingress"]
        app, *others = rule["from"]
        instance = app["podSelector"]["matchExpressions"][0]
        assert instance == {
            "key": "app.kubernetes.io/instance",
            "operator": "In",
            "values": ["todo"],
        }
        assert others == controller, name
        assert (
            policies[name]["metadata"]["annotations"]["todo-app/ingress-controller-peers"] == "true"
        )


def test_only_replicated_components_get_disruption_budgets(render):
    pdbs = by_kind(render([]), "PodDisruptionBudget")
    assert set(pdbs) == {"todo-frontend", "todo-backend"}
    assert {p["spec"]["minAvailable"] for p in pdbs.values()} == {1}


def test_prod_autoscales_and_terminates_tls(render):
    objects = render(PROD)
    hpas = by_kind(objects, "HorizontalPodAutoscaler")
    assert set(hpas) == {"todo-frontend", "todo-backend", "todo-mcp"}
    assert all("replicas" not in d["spec"] for d in by_kind(objects, "Deployment").values())
    for ingress in by_kind(objects, "Ingress").values():
        assert ingress["spec"]["tls"][0]["hosts"] == ["todo.example.com"]
    config = by_kind(objects, "ConfigMap")["todo-config"]["data"]
    assert config["BETTER_AUTH_URL"] == "https://todo.example.com"
    assert all(
        c["image"].startswith("registry.example.com/")
        for _, p in pod_specs(objects)
        for c in p["spec"]["containers"]
    )


def test_helm_test_pod_checks_backend_health_with_our_image(render):
    (pod,) = [o for o in render(DEV) if o["kind"] == "Pod"]
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    container = pod["spec"]["containers"][0]
    assert container["image"].startswith("todo-backend:")
    for path in ("/health", "/ready"):
        assert f'"http://todo-backend:8000{path}"' in container["command"][-1]


@pytest.mark.parametrize("scenario", ["default", "dev"])
def test_the_cluster_runs_the_production_profile(render, scenario):
    # `invoke deploy` renders values-dev.yaml: it too must log at INFO (DEBUG carries SQL
    # parameters and tool arguments) and trust no localhost origin. `invoke dev` sets its own.
    config = by_kind(render(SCENARIOS[scenario]), "ConfigMap")["todo-config"]["data"]
    assert config["LOG_LEVEL"] == "INFO"
    origins = (config["TRUSTED_ORIGINS"] + "," + config["ALLOWED_ORIGINS"]).split(",")
    assert not [o for o in origins if "localhost" in o or "127.0.0.1" in o], origins


def test_rate_limits_reach_the_back_end_from_values(render):
    config = by_kind(render(DEV), "ConfigMap")["todo-config"]["data"]
    assert (config["CHAT_TURNS_PER_MINUTE"], config["WRITES_PER_MINUTE"]) == ("30", "120")
    changed = {"limits.chatTurnsPerMinute": "5", "limits.writesPerMinute": "7"}
    config = by_kind(render(DEV, changed), "ConfigMap")["todo-config"]["data"]
    assert (config["CHAT_TURNS_PER_MINUTE"], config["WRITES_PER_MINUTE"]) == ("5", "7")


def test_the_api_docs_are_served_only_when_asked_for(render):
    config = by_kind(render(DEV), "ConfigMap")["todo-config"]["data"]
    assert "API_DOCS" not in config  # the back end's default: no /docs, /openapi.json
    asked = by_kind(render(DEV, {"config.apiDocs": "true"}), "ConfigMap")["todo-config"]["data"]
    assert asked["API_DOCS"] == "true"
