{{/* Names, labels and the worker's arguments, shared by every template. */}}

{{- define "slicer-autoscaler.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "slicer-autoscaler.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "slicer-autoscaler.selectorLabels" -}}
app.kubernetes.io/name: {{ include "slicer-autoscaler.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "slicer-autoscaler.labels" -}}
{{ include "slicer-autoscaler.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "slicer-autoscaler.serviceAccountName" -}}
{{- if .Values.rbac.serviceAccount.create -}}
{{- default (include "slicer-autoscaler.fullname" .) .Values.rbac.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.rbac.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "slicer-autoscaler.statusNamespace" -}}
{{- default .Release.Namespace .Values.statusNamespace -}}
{{- end -}}

{{/*
The worker's command line: our defaults first, then extraArgs in key order. A flag given in extraArgs replaces our
default of the same name, so the guide's `cloud-config: /etc/slicer/cloud-config` is not passed twice.
--cloud-provider and --namespace are the ones the cluster-autoscaler chart adds to every install.
*/}}
{{- define "slicer-autoscaler.args" -}}
{{- $extra := .Values.extraArgs | default dict -}}
- worker
{{- if not (hasKey $extra "cloud-provider") }}
- --cloud-provider={{ .Values.cloudProvider }}
{{- end }}
{{- if not (hasKey $extra "namespace") }}
- --namespace={{ .Release.Namespace }}
{{- end }}
{{- if not (hasKey $extra "cloud-config") }}
- --cloud-config={{ .Values.cloudConfigPath }}
{{- end }}
{{- if not (hasKey $extra "status-namespace") }}
- --status-namespace={{ include "slicer-autoscaler.statusNamespace" . }}
{{- end }}
{{- if not (hasKey $extra "health-port") }}
- --health-port={{ .Values.metrics.port }}
{{- end }}
{{- range $key, $value := $extra }}
{{- if kindIs "invalid" $value }}
- --{{ $key }}
{{- else if kindIs "slice" $value }}
{{- range $value }}
- {{ printf "--%s=%v" $key . | quote }}
{{- end }}
{{- else }}
- {{ printf "--%s=%v" $key $value | quote }}
{{- end }}
{{- end }}
{{- end -}}
