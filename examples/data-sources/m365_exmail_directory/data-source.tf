# The provider reads Tencent Exmail's open API with the corp id and the app secrets, best given
# as EXMAIL_CORP_ID, EXMAIL_CONTACTS_SECRET and EXMAIL_OPTIONS_SECRET:
#
# provider "m365" {
#   exmail {
#     corp_id = "wm0123456789abcdef"
#   }
# }

# The live address book: members, departments, aliases, IMAP and 安全登录 state.
data "m365_exmail_directory" "src" {
  # Optional: only these departments (and those below them).
  # department_filter = ["研发中心", "销售部"]

  # Optional: move the accounts to another domain, e.g. a staging tenant.
  # domain = "contoso.partner.onmschina.cn"

  defaults = {
    usage_location = "CN"
  }
}

# Exactly the shape of m365_users_csv's users: it feeds m365_users unchanged.
resource "m365_users" "staff" {
  users                      = data.m365_exmail_directory.src.users
  generate_initial_passwords = true
  licenses                   = [{ sku = "O365_BUSINESS_PREMIUM" }]
}

output "imap_off" {
  value = [for m in data.m365_exmail_directory.src.members : m.address if m.imap_enabled == false]
}

output "secure_login" {
  value = [for m in data.m365_exmail_directory.src.members : m.address if m.secure_login == true]
}
