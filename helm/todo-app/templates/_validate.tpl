{{/* Checks the schema cannot express; each failure says what to set. */}}
{{- define "todo-app.validateValues" -}}
{{- $v := .Values -}}
{{- if and (not $v.postgresql.enabled) (not $v.secrets.databaseUrl) (not $v.existingSecret) -}}
{{- fail "todo-app: postgresql.enabled is false but no database is given. Set secrets.databaseUrl (postgresql://user:pass@host:5432/db), or existingSecret naming a Secret with a DATABASE_URL key, or enable postgresql." -}}
{{- end -}}
{{- if and $v.secrets.betterAuthSecret (lt (len $v.secrets.betterAuthSecret) 32) -}}
{{- fail (printf "todo-app: secrets.betterAuthSecret must be at least 32 characters (got %d); leave it empty to generate one." (len $v.secrets.betterAuthSecret)) -}}
{{- end -}}
{{- range $name, $image := $v.images -}}
{{- if eq (toString $image.tag) "latest" -}}
{{- fail (printf "todo-app: images.%s.tag is \"latest\": use an immutable tag (the suite uses content hashes) so rollouts and rollbacks are exact." $name) -}}
{{- end -}}
{{- end -}}
{{- range $component := list "frontend" "backend" "mcp" -}}
{{- $scale := index $v.autoscaling $component -}}
{{- if and $v.autoscaling.enabled (gt (int $scale.minReplicas) (int $scale.maxReplicas)) -}}
{{- fail (printf "todo-app: autoscaling.%s.minReplicas (%v) is above maxReplicas (%v)." $component $scale.minReplicas $scale.maxReplicas) -}}
{{- end -}}
{{- end -}}
{{- end }}
