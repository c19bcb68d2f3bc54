# Everything else the move carries: Exmail's 邮件群组 as distribution groups (phase 1, so that mail
# to them is delivered from the MX switch on), DKIM and DMARC (phase 2), client advice.

variable "mail_groups" {
  description = "Exmail 邮件群组 by local part: display name, members and owners (local parts of users of the export), and whether people outside the company may send to it (Exmail allow_type 1)."
  type = map(object({
    display_name           = string
    members                = list(string)
    owners                 = list(string)
    allow_external_senders = bool
  }))
  default = {
    sales = {
      display_name           = "销售部 Sales"
      members                = ["wang.wu", "li.si"]
      owners                 = ["zhang.san"]
      allow_external_senders = true
    }
  }
}

variable "dmarc_policy" {
  description = "DMARC policy published at cutover: none first, then quarantine, then reject."
  type        = string
  default     = "none"
}

variable "dmarc_rua" {
  description = "Addresses that receive DMARC aggregate reports."
  type        = list(string)
  default     = []
}

locals {
  # Users this configuration creates (m365_users.staff): the plan does not require them to
  # exist yet, and the apply waits until Exchange knows them.
  created_users = keys(local.users)
}

# Exchange admin centre: Recipients > Groups > Distribution list.
resource "m365_distribution_group" "groups" {
  for_each = var.mail_groups

  name                   = each.key
  display_name           = each.value.display_name
  primary_smtp_address   = "${each.key}@${var.domain}"
  members                = [for m in each.value.members : "${m}@${var.domain}"]
  owners                 = [for m in each.value.owners : "${m}@${var.domain}"]
  allow_external_senders = each.value.allow_external_senders

  # The domain is verified and the users are created by this same apply.
  pending_domains = [var.domain]
  pending_members = [for m in concat(each.value.members, each.value.owners) : "${m}@${var.domain}" if contains(local.created_users, "${m}@${var.domain}")]
  depends_on      = [m365_users.staff, m365_domain_verification.company]
}

# Microsoft Defender portal: Email authentication settings > DKIM. The CNAMEs are published with
# the cutover records (cutover_records, or dnspod/dkim.tf); the apply after that enables signing.
resource "m365_dkim" "company" {
  count = var.cutover ? 1 : 0

  domain       = m365_domain_verification.company.domain
  dns_resolver = var.dns_resolver

  timeouts = {
    update = "2h"
  }
}

output "mail_groups" {
  description = "The distribution groups, their members and whether outsiders may send to them."
  value = {
    for k, g in m365_distribution_group.groups : g.email => {
      members                = sort(tolist(g.members))
      allow_external_senders = g.allow_external_senders
    }
  }
}

output "dkim" {
  description = "DKIM signing: enabled once Microsoft sees the two selector CNAMEs."
  value       = var.cutover ? { enabled = m365_dkim.company[0].enabled, status = m365_dkim.company[0].status, selector1 = m365_dkim.company[0].selector1_cname } : null
}

output "dmarc" {
  description = "The DMARC record published at _dmarc."
  value       = var.cutover ? try(data.m365_dns_records.cutover[0].records["dmarc"].value, null) : null
}

output "client_advice" {
  description = "What to tell users about phones and PCs: IMAP/POP with a password no longer works."
  value       = data.m365_mail_client_settings.this.recommendation
}
