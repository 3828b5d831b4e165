{{/* Names, labels and the pieces every Switchyard container shares. */}}

{{- define "switchyard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "switchyard.fullname" -}}
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

{{/* switchyard.component: "<fullname>-<component>" for a dict with root and component. */}}
{{- define "switchyard.component" -}}
{{- printf "%s-%s" (include "switchyard.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "switchyard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "switchyard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: switchyard
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of one component's objects (dict root, component). */}}
{{- define "switchyard.componentLabels" -}}
{{ include "switchyard.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The selector of one component's pods (dict root, component). */}}
{{- define "switchyard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "switchyard.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "switchyard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "switchyard.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "switchyard.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The PostgreSQL URL Secret and key: an existing one, or the chart's. */}}
{{- define "switchyard.postgresSecret" -}}
{{- default (printf "%s-postgres" (include "switchyard.fullname" .)) .Values.postgres.existingSecret -}}
{{- end -}}
{{- define "switchyard.postgresSecretKey" -}}
{{- if .Values.postgres.existingSecret }}{{ .Values.postgres.existingSecretKey }}{{ else }}url{{ end -}}
{{- end -}}

{{- define "switchyard.redisPasswordSecret" -}}
{{- default (printf "%s-redis" (include "switchyard.fullname" .)) .Values.redis.passwordSecret -}}
{{- end -}}
{{- define "switchyard.redisPasswordSecretKey" -}}
{{- if .Values.redis.passwordSecret }}{{ .Values.redis.passwordSecretKey }}{{ else }}password{{ end -}}
{{- end -}}
{{- define "switchyard.redisHasPassword" -}}
{{- if or .Values.redis.password .Values.redis.passwordSecret }}true{{ end -}}
{{- end -}}

{{/* SWITCHYARD_KAFKA_BROKERS from the value or an existing Secret. */}}
{{- define "switchyard.kafkaEnv" -}}
- name: SWITCHYARD_KAFKA_BROKERS
{{- if .Values.kafka.existingSecret }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.existingSecret }}
      key: {{ .Values.kafka.existingSecretKey }}
{{- else }}
  value: {{ required "kafka.brokers or kafka.existingSecret is required" .Values.kafka.brokers | quote }}
{{- end }}
- name: SWITCHYARD_EVENTS_TOPIC
  value: {{ .Values.kafka.eventsTopic | quote }}
{{- end -}}

{{/* The settings of every events-consuming service (dict root, c: component values, name). */}}
{{- define "switchyard.serviceEnv" -}}
- name: SWITCHYARD_LISTEN_ADDRESS
  value: "0.0.0.0"
- name: SWITCHYARD_GRPC_PORT
  value: {{ .c.grpcPort | quote }}
- name: SWITCHYARD_HTTP_PORT
  value: {{ .c.httpPort | quote }}
- name: SWITCHYARD_LOG_LEVEL
  value: {{ .root.Values.logLevel | quote }}
- name: SWITCHYARD_THREADS
  value: {{ .c.threads | quote }}
# A secret: read from the mounted Secret, never an environment value.
- name: SWITCHYARD_POSTGRES_URL_FILE
  value: /etc/switchyard/postgres/url
- name: SWITCHYARD_POSTGRES_SCHEMA
  value: {{ .c.schema | quote }}
- name: SWITCHYARD_POSTGRES_POOL_SIZE
  value: {{ .root.Values.postgres.poolSize | quote }}
{{- end -}}

{{- define "switchyard.postgresVolume" -}}
- name: postgres
  secret:
    secretName: {{ include "switchyard.postgresSecret" . }}
    defaultMode: 0440
    items:
      - key: {{ include "switchyard.postgresSecretKey" . }}
        path: url
{{- end -}}

{{/* Pod anti-affinity across nodes (dict root, component, mode soft|hard). */}}
{{- define "switchyard.antiAffinity" -}}
podAntiAffinity:
{{- if eq .mode "hard" }}
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- include "switchyard.selectorLabels" . | nindent 10 }}
{{- else }}
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "switchyard.selectorLabels" . | nindent 12 }}
{{- end }}
{{- end -}}

{{/* HTTP probes on the side port (dict port). */}}
{{- define "switchyard.probes" -}}
startupProbe:
  httpGet: {path: /healthz, port: http}
  periodSeconds: 2
  failureThreshold: 60
livenessProbe:
  httpGet: {path: /healthz, port: http}
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet: {path: /readyz, port: http}
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
{{- end -}}

{{/* roaming's public OCPI root: roaming.ocpi.baseUrl, else https://<ingress host>/ocpi, else the
in-cluster Service (reachable by nobody outside the cluster). */}}
{{- define "switchyard.ocpiBaseUrl" -}}
{{- $r := .Values.roaming -}}
{{- if $r.ocpi.baseUrl -}}
{{- $r.ocpi.baseUrl -}}
{{- else if $r.ingress.enabled -}}
{{- printf "https://%s/ocpi" (required "roaming.ingress.host is required with roaming.ingress.enabled" $r.ingress.host) -}}
{{- else -}}
{{- printf "http://%s.%s.svc:%v/ocpi" (include "switchyard.component" (dict "root" . "component" "roaming")) .Release.Namespace $r.httpPort -}}
{{- end -}}
{{- end -}}
