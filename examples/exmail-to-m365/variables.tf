variable "cutover" {
  description = "false: phase 1 (domain, users, migration until Synced). true: phase 2 (MX, autodiscover, SPF switched, final sync)."
  type        = bool
  default     = false
}

variable "environment" {
  description = "\"global\" (Microsoft 365 worldwide) or \"china\" (Office 365 operated by 21Vianet)."
  type        = string
  default     = "global"

  validation {
    condition     = contains(["global", "china"], var.environment)
    error_message = "environment must be \"global\" or \"china\"."
  }
}

variable "endpoints" {
  description = "Host overrides for a local emulator or a proxy; leave empty for the real cloud."
  type = object({
    login    = optional(string)
    graph    = optional(string)
    exchange = optional(string)
  })
  default = {}
}

variable "domain" {
  description = "The company's mail domain, today at Tencent Exmail."
  type        = string
  default     = "contoso.com"
}

variable "dns_provider" {
  description = "\"manual\": the records to publish are printed as outputs. \"dnspod\": tencentcloud_dnspod_record publishes them (copy dnspod/*.tf here first)."
  type        = string
  default     = "manual"

  validation {
    condition     = contains(["manual", "dnspod"], var.dns_provider)
    error_message = "dns_provider must be \"manual\" or \"dnspod\"."
  }
}

variable "dns_resolver" {
  description = "DNS server (host:port) used to explain a failed verification; null: the system's."
  type        = string
  default     = null
}

variable "source_mode" {
  description = "Where users and mailboxes come from: \"csv\" (the address-book export and a migration CSV with every password) or \"exmail_api\" (Tencent Exmail's open API: the live address book, IMAP switched on, migration credentials without collecting passwords)."
  type        = string
  default     = "csv"

  validation {
    condition     = contains(["csv", "exmail_api"], var.source_mode)
    error_message = "source_mode must be \"csv\" or \"exmail_api\"."
  }
}

variable "exmail" {
  description = "source_mode = \"exmail_api\": the corp id (工具箱 > 应用中心, at the bottom) and, for a local emulator or a proxy, the API endpoint. The app secrets come from EXMAIL_CONTACTS_SECRET and EXMAIL_OPTIONS_SECRET."
  type = object({
    corp_id  = optional(string)
    endpoint = optional(string)
  })
  default = {}
}

variable "exmail_set_passwords" {
  description = "source_mode = \"exmail_api\": let the provider set a fresh random Exmail password for every member just before the migration (nobody sees it; each member chooses a new one at the next login). The plan lists the members whose passwords change. false: give exmail_passwords."
  type        = bool
  default     = false
}

variable "exmail_passwords" {
  description = "source_mode = \"exmail_api\" without exmail_set_passwords: Exmail address -> password (or 客户端专用密码), e.g. from a secret store as TF_VAR_exmail_passwords. Never stored."
  type        = map(string)
  default     = {}
  ephemeral   = true
  sensitive   = true
}

variable "users_csv" {
  description = "The Exmail address-book export (管理后台 > 通讯录 > 导出), as saved: GB18030, UTF-8 or UTF-16."
  type        = string
  default     = "data/exmail-export.csv"
}

variable "license_sku" {
  description = "Licence every user gets; it must include Exchange Online (a mailbox is the target of the migration)."
  type        = string
  default     = "O365_BUSINESS_PREMIUM"
}

variable "initial_password" {
  description = "Temporary password of every new user (changed at first sign-in). Pass it as TF_VAR_initial_password."
  type        = string
  ephemeral   = true
  sensitive   = true
}

variable "imap_host" {
  description = "The source IMAP server."
  type        = string
  default     = "imap.exmail.qq.com"
}

variable "imap_port" {
  description = "The source IMAP port."
  type        = number
  default     = 993
}

variable "imap_security" {
  description = "Ssl, Tls or None."
  type        = string
  default     = "Ssl"
}

variable "imap_ca_file" {
  description = "PEM CA file the preflight login check trusts besides the system's (only for a server with a private CA)."
  type        = string
  default     = null
}

variable "migration_csv" {
  description = "IMAP migration CSV: EmailAddress,UserName,Password. Read at plan and apply time, never stored."
  type        = string
  default     = "data/imap-migration.csv"
}

variable "migration_csv_version" {
  description = "Change it to submit migration_csv again (every row is checked against the IMAP server first)."
  type        = number
  default     = 1
}

variable "mx_switched_at" {
  description = "dns_provider = \"manual\": when you changed the MX record (RFC 3339, e.g. 2025-07-01T18:00:00Z). Setting it runs the final sync."
  type        = string
  default     = null
}

variable "notification_emails" {
  description = "Who receives the migration batch's reports: an address outside the domain being moved (e.g. admin@contoso.onmicrosoft.com)."
  type        = list(string)
  default     = []
}

variable "staging_domain" {
  description = "Rehearsal on a staging tenant: its *.onmicrosoft.com domain, to which every user and migration address is rewritten. null for the real move."
  type        = string
  default     = null
}

variable "exmail_imap_restore" {
  description = "source_mode = \"exmail_api\": true once the move is over puts every member's previous IMAP setting back (the batch stays)."
  type        = bool
  default     = false
}
