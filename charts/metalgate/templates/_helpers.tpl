{{- define "metalgate.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}

{{- define "metalgate.config" -}}
{{- if .Values.config -}}
{{ .Values.config }}
{{- else -}}
{{ toYaml (dict "address-pools" .Values.pools) }}
{{- end -}}
{{- end -}}
