{{/* Chart name, truncated to the 63 characters a label allows. */}}
{{- define "kubenas.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart, unless the release name already contains the chart name. */}}
{{- define "kubenas.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kubenas.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kubenas.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubenas.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "kubenas.labels" -}}
helm.sh/chart: {{ include "kubenas.chart" . }}
{{ include "kubenas.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kubenas
{{- end }}

{{- define "kubenas.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kubenas.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kubenas.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Whether the operator reads nodes and all pods' GPU requests (budget.gpuAware): nodeAccess,
or by default only when it watches the whole cluster. Empty string means no.
*/}}
{{- define "kubenas.nodeAccess" -}}
{{- if kindIs "invalid" .Values.nodeAccess }}{{ if not .Values.watchNamespaces }}true{{ end }}
{{- else if .Values.nodeAccess }}true{{ end }}
{{- end }}

{{/*
The operator's permissions in each watched namespace: exactly what it calls
(operator/kubenas/backends/kubernetes/permissions.py; a test keeps them equal).
finalizers/update lets it set blockOwnerDeletion on the NASTrials, pods and Jobs it owns
(required where the OwnerReferencesPermissionEnforcement admission plugin is on).
*/}}
{{- define "kubenas.workloadRules" -}}
- apiGroups: ["kubenas.io"]
  resources: ["nasexperiments"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["kubenas.io"]
  resources: ["nastrials"]
  verbs: ["get", "list", "watch", "create"]
- apiGroups: ["kubenas.io"]
  resources: ["nasexperiments/status", "nastrials/status"]
  verbs: ["patch"]
- apiGroups: ["kubenas.io"]
  resources: ["nasexperiments/finalizers", "nastrials/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch", "create", "delete"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end }}
