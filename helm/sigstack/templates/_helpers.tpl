{{/*
Names, labels and the pieces every pod shares, and the three service
configurations rendered as TOML (the schema of `sigstack check-config`).
Paths inside the pods:
  /etc/sigstack/config/   the service's TOML (and the CA's issuers.yaml)
  /etc/sigstack/keys/     encrypted private keys, the CA chain, the CT public key
  /run/secrets/sigstack/  database-url, key-password, pkcs11-pin
*/}}

{{- define "sigstack.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* The prefix of every object's name; short enough for "-migrate" and the like. */}}
{{- define "sigstack.fullname" -}}
{{- $name := include "sigstack.name" . -}}
{{- $prefixed := ternary .Release.Name (printf "%s-%s" .Release.Name $name) (contains $name .Release.Name) -}}
{{- .Values.fullnameOverride | default $prefixed | trunc 48 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object. Argument: dict "root" $ "component" NAME ("" for none). */}}
{{- define "sigstack.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "sigstack.selectorLabels" . }}
app.kubernetes.io/part-of: sigstack
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The labels selectors use. Argument: dict "root" $ "component" NAME ("" for none). */}}
{{- define "sigstack.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sigstack.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{- define "sigstack.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* The Secret with the private key material: the operator's, or the chart's. */}}
{{- define "sigstack.keysSecret" -}}
{{- .Values.keys.existingSecret | default (printf "%s-keys" (include "sigstack.fullname" .)) -}}
{{- end -}}

{{/* Whether a CT log runs anywhere in this release (its own Deployment or inside the CA). */}}
{{- define "sigstack.ctRuns" -}}
{{- if or .Values.ct.enabled (eq .Values.ca.ct.mode "in_process") -}}true{{- end -}}
{{- end -}}

{{/* The CT log the CA calls in `remote` mode. */}}
{{- define "sigstack.ctUrl" -}}
{{- if .Values.ca.ct.url -}}
{{ .Values.ca.ct.url }}
{{- else if .Values.ct.enabled -}}
{{ printf "http://%s-ct.%s.svc:%d" (include "sigstack.fullname" .) .Release.Namespace (int .Values.ct.port) }}
{{- else -}}
{{ fail "ca.ct.mode is remote but ct.enabled is false and ca.ct.url is empty: name a CT log, enable the chart's, or use ca.ct.mode in_process" }}
{{- end -}}
{{- end -}}

{{/* Refuses settings that cannot work together. */}}
{{- define "sigstack.validate" -}}
{{- $s := .Values.server -}}
{{- if le (int64 $s.terminationGracePeriodSeconds) (add $s.preStopSleepSeconds $s.shutdownTimeoutSecs | int64) -}}
{{- fail "server.terminationGracePeriodSeconds must exceed server.preStopSleepSeconds + server.shutdownTimeoutSecs" -}}
{{- end -}}
{{- if lt (int64 $s.preStopSleepSeconds) 1 -}}
{{- fail "server.preStopSleepSeconds must be at least 1" -}}
{{- end -}}
{{- if not (has .Values.ca.ct.mode (list "remote" "in_process")) -}}
{{- fail (printf "ca.ct.mode must be remote or in_process, not %q" .Values.ca.ct.mode) -}}
{{- end -}}
{{- if and .Values.ct.enabled (eq .Values.ca.ct.mode "in_process") -}}
{{- fail "ca.ct.mode in_process runs the CT log inside the CA: set ct.enabled false" -}}
{{- end -}}
{{- if not (has .Values.ca.key.backend (list "file" "pkcs11")) -}}
{{- fail (printf "ca.key.backend must be file or pkcs11, not %q" .Values.ca.key.backend) -}}
{{- end -}}
{{- end -}}

{{/* [server], [database] and [telemetry]. Argument: dict "root" $ "port" N "grpcPort" N (0: none). */}}
{{- define "sigstack.toml.common" -}}
{{- $v := .root.Values -}}
[server]
listen = {{ printf "%s:%d" $v.server.bindAddress (int .port) | toJson }}
admin_listen = {{ printf "%s:%d" $v.server.bindAddress (int $v.server.adminPort) | toJson }}
request_timeout_secs = {{ int64 $v.server.requestTimeoutSecs }}
shutdown_timeout_secs = {{ int64 $v.server.shutdownTimeoutSecs }}
{{- with .grpcPort }}
grpc_listen = {{ printf "%s:%d" $v.server.bindAddress (int .) | toJson }}
{{- end }}

[database]
backend = "postgres"
url_file = "/run/secrets/sigstack/database-url"
max_connections = {{ int64 $v.database.maxConnections }}

[telemetry]
log_format = {{ $v.telemetry.logFormat | toJson }}
log_filter = {{ $v.telemetry.logFilter | toJson }}
{{- end -}}

{{- define "sigstack.toml.log" -}}
{{- $l := .Values.log -}}
service = "log"

{{ include "sigstack.toml.common" (dict "root" . "port" $l.port "grpcPort" 0) }}

[log]
hostname = {{ required "log.hostname is required: the host of the log's public URL" $l.hostname | toJson }}
key_file = "/etc/sigstack/keys/rekor.key.pem"
password_file = "/run/secrets/sigstack/key-password"
body_limit_bytes = {{ int64 $l.bodyLimitBytes }}
enabled_api_endpoints = {{ default (list) $l.enabledApiEndpoints | toJson }}
max_batch = {{ int64 $l.maxBatch }}
max_wait_ms = {{ int64 $l.maxWaitMs }}
{{- end -}}

{{- define "sigstack.toml.ca" -}}
{{- $c := .Values.ca -}}
service = "ca"

{{ include "sigstack.toml.common" (dict "root" . "port" $c.port "grpcPort" $c.grpcPort) }}

[ca]
chain_file = "/etc/sigstack/keys/ca-chain.pem"
issuer_config = "/etc/sigstack/config/issuers.yaml"

[ca.key]
backend = {{ $c.key.backend | toJson }}
{{- if eq $c.key.backend "pkcs11" }}
{{- $p := $c.key.pkcs11 }}
module = {{ required "ca.key.pkcs11.module is required with ca.key.backend pkcs11" $p.module | toJson }}
{{- with $p.tokenLabel }}
token_label = {{ . | toJson }}
{{- end }}
{{- if not (kindIs "invalid" $p.slot) }}
slot = {{ int64 $p.slot }}
{{- end }}
pin_file = "/run/secrets/sigstack/pkcs11-pin"
{{- with $p.keyLabel }}
key_label = {{ . | toJson }}
{{- end }}
{{- with $p.keyId }}
key_id = {{ . | toJson }}
{{- end }}
{{- if not (kindIs "invalid" $p.sessions) }}
sessions = {{ int64 $p.sessions }}
{{- end }}
{{- else }}
key_file = "/etc/sigstack/keys/ca-intermediate.key.pem"
password_file = "/run/secrets/sigstack/key-password"
{{- end }}

[ca.ct]
mode = {{ $c.ct.mode | toJson }}
{{- if eq $c.ct.mode "in_process" }}
key_file = "/etc/sigstack/keys/ctlog.key.pem"
password_file = "/run/secrets/sigstack/key-password"
origin = {{ required "ca.ct.origin or ct.origin is required: the CT log's checkpoint origin" ($c.ct.origin | default .Values.ct.origin) | toJson }}
{{- else }}
url = {{ include "sigstack.ctUrl" . | toJson }}
{{- if .Values.keys.ctPublicKey }}
public_key_file = "/etc/sigstack/keys/ctlog.pub.pem"
{{- end }}
timeout_secs = {{ int64 $c.ct.timeoutSecs }}
{{- end }}
{{- end -}}

{{- define "sigstack.toml.ct" -}}
service = "ct"

{{ include "sigstack.toml.common" (dict "root" . "port" .Values.ct.port "grpcPort" 0) }}

[ct]
key_file = "/etc/sigstack/keys/ctlog.key.pem"
password_file = "/run/secrets/sigstack/key-password"
roots_file = "/etc/sigstack/keys/ca-chain.pem"
origin = {{ required "ct.origin is required: the CT log's checkpoint origin" .Values.ct.origin | toJson }}
{{- end -}}

{{/* Pod-level settings of every Deployment. */}}
{{- define "sigstack.podSpec" -}}
automountServiceAccountToken: false
{{- /* Service links would add SIGSTACK_*_SERVICE_HOST variables, and SIGSTACK_* names config overrides. */}}
enableServiceLinks: false
terminationGracePeriodSeconds: {{ int64 .Values.server.terminationGracePeriodSeconds }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Scheduling of a Deployment. Argument: dict "root" $ "component" NAME "values" .Values.<component>. */}}
{{- define "sigstack.scheduling" -}}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
affinity:
{{- if .values.affinity }}
  {{- toYaml .values.affinity | nindent 2 }}
{{- else }}
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "sigstack.selectorLabels" (dict "root" .root "component" .component) | nindent 14 }}
{{- end }}
{{- end -}}

{{/* Probes on the admin port and the preStop pause of every service container. */}}
{{- define "sigstack.probes" -}}
livenessProbe:
  httpGet:
    path: /healthz
    port: admin
  periodSeconds: 10
  timeoutSeconds: 2
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: admin
  periodSeconds: 5
  timeoutSeconds: 2
  failureThreshold: 2
lifecycle:
  preStop:
    sleep:
      seconds: {{ int64 .Values.server.preStopSleepSeconds }}
{{- end -}}

{{- define "sigstack.volumeMounts" -}}
- name: config
  mountPath: /etc/sigstack/config
  readOnly: true
- name: keys
  mountPath: /etc/sigstack/keys
  readOnly: true
- name: secrets
  mountPath: /run/secrets/sigstack
  readOnly: true
{{- end -}}

{{/*
The /run/secrets/sigstack volume: the database URL, and from the keys Secret
only the items asked for. Argument: dict "root" $ "password" BOOL "pin" BOOL.
*/}}
{{- define "sigstack.secretsVolume" -}}
- name: secrets
  projected:
    defaultMode: 0440
    sources:
      - secret:
          name: {{ required "database.external.urlSecret.name is required: an existing Secret holding the PostgreSQL URL" .root.Values.database.external.urlSecret.name }}
          items:
            - key: {{ .root.Values.database.external.urlSecret.key }}
              path: database-url
      {{- if or .password .pin }}
      - secret:
          name: {{ include "sigstack.keysSecret" .root }}
          items:
            {{- if .password }}
            - key: key-password
              path: key-password
            {{- end }}
            {{- if .pin }}
            - key: pkcs11-pin
              path: pkcs11-pin
            {{- end }}
      {{- end }}
{{- end -}}
