{{/* Name of the release's objects: <release>-lumo, or the release name when it contains "lumo". */}}
{{- define "lumo.fullname" -}}
{{- if contains "lumo" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-lumo" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "lumo.labels" -}}
app.kubernetes.io/name: lumo
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "lumo.selector" -}}
app.kubernetes.io/name: lumo
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "lumo.image" -}}
{{ printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end -}}

{{- define "lumo.secretName" -}}
{{- .Values.clusterToken.existingSecret | default (printf "%s-cluster" (include "lumo.fullname" .)) -}}
{{- end -}}

{{/* Pod annotations: a checksum of the start script (pods restart when it changes) and the Prometheus hints. */}}
{{- define "lumo.podAnnotations" -}}
annotations:
  checksum/start: {{ .Files.Get "files/start.sh" | sha256sum }}
  {{- if .Values.metrics.annotations }}
  prometheus.io/scrape: "true"
  prometheus.io/port: "8090"
  prometheus.io/path: /metrics
  {{- end }}
{{- end -}}

{{/* Probes on the public listener: /healthz while the process runs, /readyz when every Raft group on the node has a leader and has applied what it committed. */}}
{{- define "lumo.probes" -}}
startupProbe:
  httpGet:
    path: /healthz
    port: http
  periodSeconds: 2
  failureThreshold: 90
livenessProbe:
  httpGet:
    path: /healthz
    port: http
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 6
readinessProbe:
  httpGet:
    path: /readyz
    port: http
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
{{- end -}}

{{- define "lumo.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]
{{- end -}}
