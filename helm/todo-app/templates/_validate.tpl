{{/* Checks the schema cannot express; each failure says what to set. */}}
{{- define "todo-app.validateValues" -}}
{{- $v := .Values -}}
{{- if and (not $v.postgresql.enabled) (not $v.secrets.databaseUrl) (not $v.existingSecret) -}}
{{- fail "todo-app: postgresql.enabled is false but no database is given. Set secrets.databaseUrl (postgresql://user:pass@host/db), or existingSecret naming a Secret with a DATABASE_URL key, or enable postgresql." -}}
{{- end -}}
{{- if and $v.secrets.betterAuthSecret (lt (len $v.secrets.betterAuthSecret) 32) -}}
{{- fail (printf "todo-app: secrets.betterAuthSecret must be at least 32 characters (got %d); leave it empty to generate one." (len $v.secrets.betterAuthSecret)) -}}
{{- end -}}
{{- range $name, $image := $v.images -}}
{{- if eq (toString $image.tag) "latest" -}}
{{- fail (printf "todo-app: images.%s.tag is \"latest\": use an immutable tag (the suite uses content hashes) so rollouts and rollbacks are exact." $name) -}}
{{- end -}}
{{- end -}}
{{- range $component, $spec := include "todo-app.components" . | fromYaml -}}
{{- if include "todo-app.autoscaled" (list $ $component) -}}
{{- $scale := index $v.autoscaling $component -}}
{{- if gt (int $scale.minReplicas) (int $scale.maxReplicas) -}}
{{- fail (printf "todo-app: autoscaling.%s.minReplicas (%v) is above maxReplicas (%v)." $component $scale.minReplicas $scale.maxReplicas) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- include "todo-app.validateKeys" . -}}
{{- end }}

{{/*
The schema checks the shape of each component's images, replicas, resources and autoscaling
entry; which entries may exist is components.yaml's to say, so a misspelt one fails here.
*/}}
{{- define "todo-app.validateKeys" -}}
{{- $manifest := include "todo-app.manifest" . | fromYaml -}}
{{- $services := keys (include "todo-app.components" . | fromYaml) -}}
{{- $images := list -}}
{{- range $manifest.components }}{{ $images = append $images .image.key }}{{ end -}}
{{- /* resources also sizes the database (postgresql, as its values are named), the test pod and
  any service values.yaml does not size (default). */ -}}
{{- $known := dict
  "images" $images
  "replicas" $services
  "resources" (concat $services (list "postgresql" "test" "default"))
  "autoscaling" (concat $services (list "enabled" "targetCPUUtilizationPercentage")) -}}
{{- range $section, $allowed := $known -}}
{{- range $key := keys (get $.Values $section) | sortAlpha -}}
{{- if not (has $key $allowed) -}}
{{- fail (printf "todo-app: %s.%s names no component of components.yaml (%s)." $section $key (sortAlpha $allowed | join ", ")) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end }}
