{{/*
The app's components come from components.yaml at the chart's root (its comments explain each
key; the deploy suite reads the same file). These helpers hand its parts to the templates as
YAML, for `fromYaml`.
*/}}
{{- define "todo-app.manifest" -}}
{{- $text := .Files.Get "components.yaml" -}}
{{- if not $text -}}
{{- fail "todo-app: components.yaml is missing from the chart (check .helmignore)" -}}
{{- end -}}
{{- $text -}}
{{- end }}

{{/* The app services (kind: service): each one a Deployment, a Service, an HPA and a PDB. */}}
{{- define "todo-app.components" -}}
{{- $services := dict -}}
{{- range $name, $spec := (include "todo-app.manifest" . | fromYaml).components -}}
{{- if eq $spec.kind "service" }}{{ $_ := set $services $name $spec }}{{ end -}}
{{- end -}}
{{- toYaml $services -}}
{{- end }}

{{/* The in-cluster PostgreSQL (kind: database, postgres.yaml) with its `name`. */}}
{{- define "todo-app.database" -}}
{{- range $name, $spec := (include "todo-app.manifest" . | fromYaml).components -}}
{{- if eq $spec.kind "database" }}{{ merge (dict "name" $name) $spec | toYaml }}{{ end -}}
{{- end -}}
{{- end }}

{{/* Every component's Service URL, by name: {backend: "http://todo-backend:PORT", ...}. */}}
{{- define "todo-app.urls" -}}
{{- $urls := dict -}}
{{- range $name, $spec := (include "todo-app.manifest" . | fromYaml).components -}}
{{- $_ := set $urls $name (printf "http://%s:%d" (include "todo-app.name" (list $ $name)) (int $spec.port)) -}}
{{- end -}}
{{- toYaml $urls -}}
{{- end }}

{{/*
Env of an app container: the shared ConfigMap, its port (the variable its program reads) and its
Secret keys. Usage: (list . $spec)
*/}}
{{- define "todo-app.appEnv" -}}
{{- $root := index . 0 -}}
{{- $spec := index . 1 -}}
envFrom:
  - configMapRef:
      name: {{ include "todo-app.configName" $root }}
env:
  {{- with $spec.port }}
  - name: {{ $spec.portEnv | default "PORT" }}
    value: {{ int . | quote }}
  {{- end }}
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

{{/*
A component's values where values.yaml may leave it out, so that a component added to
components.yaml renders before anyone sizes it: its image (`images.<key>`, else
<namePrefix>-<key> at the chart's appVersion), replicas (else 1) and resources (else
resources.default). Usage: include "todo-app.imageValues" (list . "backend")
*/}}
{{- define "todo-app.imageValues" -}}
{{- $root := index . 0 -}}
{{- $key := index . 1 -}}
{{- $fallback := dict "repository" (include "todo-app.name" (list $root $key)) "tag" $root.Chart.AppVersion "pullPolicy" "IfNotPresent" -}}
{{- merge (deepCopy (get $root.Values.images $key | default dict)) $fallback | toYaml -}}
{{- end }}

{{/* Usage: include "todo-app.replicas" (list . "backend") */}}
{{- define "todo-app.replicas" -}}
{{- $replicas := (index . 0).Values.replicas -}}
{{- if hasKey $replicas (index . 1) }}{{ get $replicas (index . 1) | int }}{{ else }}1{{ end -}}
{{- end }}

{{/* Usage: include "todo-app.resources" (list . "backend") */}}
{{- define "todo-app.resources" -}}
{{- $resources := (index . 0).Values.resources -}}
{{- get $resources (index . 1) | default $resources.default | toYaml -}}
{{- end }}

{{/* True (non-empty) when an HPA scales the component: autoscaling is on and bounds it. */}}
{{- define "todo-app.autoscaled" -}}
{{- $autoscaling := (index . 0).Values.autoscaling -}}
{{- if and $autoscaling.enabled (hasKey $autoscaling (index . 1)) }}true{{ end -}}
{{- end }}
