{{/*
The three app services in one place: port, probe paths and the Secret keys each one reads
(least privilege: a container gets only the keys it uses). Deployments, Services, HPAs and
PDBs are all rendered from this list.
`database` is the service's own PostgreSQL login (docs/database-roles.md): the role, fixed
because the migrations grant to it (backend/todo_backend/db/roles.py names the same), the
Secret key of its URL, which the container reads as DATABASE_URL, and of its password.
`drain` is the preStop command: a stopping pod serves on for 5 s while the endpoints, kube-proxy
and the ingress drop it, so no request meets a closed port (the Node runtime image has no
`sleep` binary, hence each image's own interpreter).
*/}}
{{- define "todo-app.components" -}}
frontend:
  port: 3000
  health: /api/health
  ready: /api/health
  secretKeys: [BETTER_AUTH_SECRET]
  database: {role: todo_frontend, urlKey: FRONTEND_DATABASE_URL, passwordKey: POSTGRES_FRONTEND_PASSWORD}
  # Next.js writes its image and fetch cache here; the root file system is read-only.
  cacheDir: /app/.next/cache
  drain: [node, -e, "setTimeout(() => {}, 5000)"]
backend:
  port: 8000
  health: /health
  ready: /ready
  secretKeys: [MCP_API_TOKEN]
  optionalSecretKeys: [OPENAI_API_KEY]
  database: {role: todo_backend, urlKey: BACKEND_DATABASE_URL, passwordKey: POSTGRES_BACKEND_PASSWORD}
  migrate: true
  drain: [python, -c, "import time; time.sleep(5)"]
mcp:
  port: 8001
  health: /health
  ready: /health
  secretKeys: [MCP_API_TOKEN]
  database: {role: todo_mcp, urlKey: MCP_DATABASE_URL, passwordKey: POSTGRES_MCP_PASSWORD}
  drain: [python, -c, "import time; time.sleep(5)"]
{{- end }}

{{/*
The in-cluster PostgreSQL: a StatefulSet (postgres.yaml), not one of the services above. `image`
is its key under .Values.images.
*/}}
{{- define "todo-app.database" -}}
postgres:
  port: 5432
  image: postgresql
{{- end }}

{{/* Env of an app container: the shared ConfigMap plus its Secret keys. Usage: (list . $spec) */}}
{{- define "todo-app.appEnv" -}}
{{- $root := index . 0 -}}
{{- $spec := index . 1 -}}
envFrom:
  - configMapRef:
      name: {{ include "todo-app.configName" $root }}
env:
  {{- with $spec.database }}
  {{- include "todo-app.secretEnv" (dict "root" $root "name" "DATABASE_URL" "key" .urlKey) | nindent 2 }}
  {{- end }}
  {{- range $spec.secretKeys }}
  {{- include "todo-app.secretEnv" (dict "root" $root "name" .) | nindent 2 }}
  {{- end }}
  {{- range $spec.optionalSecretKeys }}
  {{- include "todo-app.secretEnv" (dict "root" $root "name" . "optional" true) | nindent 2 }}
  {{- end }}
{{- end }}

{{/*
The migrate init container's Secret keys: the owner's DATABASE_URL and every service's URL,
whose role it lets log in with the password in it (python -m todo_backend.migrate).
*/}}
{{- define "todo-app.migrateSpec" -}}
{{- $keys := list "DATABASE_URL" -}}
{{- range $component, $spec := include "todo-app.components" . | fromYaml -}}
{{- with $spec.database }}{{ $keys = append $keys .urlKey }}{{ end -}}
{{- end -}}
{{- toYaml (dict "secretKeys" $keys) -}}
{{- end }}
