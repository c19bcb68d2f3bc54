# A Tencent Exmail (腾讯企业邮箱) address-book export, as Exmail and Excel save it: GB18030.
# The encoding and the format are detected; every problem of the file stops the plan with
# file:line:column, before anything is written to the tenant.
data "m365_users_csv" "exmail" {
  path = "${path.module}/exmail-export-gb18030.csv"

  # Optional: move the accounts to another domain, e.g. while the old one is still at Exmail.
  # domain = "contoso.partner.onmschina.cn"

  defaults = {
    usage_location = "CN"
    company_name   = "Contoso"
  }
}

output "encoding" {
  value = data.m365_users_csv.exmail.encoding # "gb18030"
}

output "departments" {
  value = { for upn, u in data.m365_users_csv.exmail.users : upn => u.department }
}

# The admin centre's "Add multiple users" template works the same way, in any encoding:
# data "m365_users_csv" "template" {
#   path = "${path.module}/users.csv"
# }
