# One user, with a password that never reaches the state (Terraform 1.11+).
variable "admin_password" {
  type      = string
  ephemeral = true
  sensitive = true
}

resource "m365_user" "it_admin" {
  user_principal_name = "it.admin@contoso.com"
  display_name        = "IT Admin"
  department          = "IT"
  usage_location      = "CN"

  licenses = [{ sku = "O365_BUSINESS_PREMIUM" }]

  # Email aliases: written through Exchange Online once the mailbox exists.
  aliases = ["helpdesk@contoso.com", "it@contoso.com"]

  password_wo         = var.admin_password
  password_wo_version = 1
}

# One resource per row of a CSV, each with a generated temporary password.
data "m365_users_csv" "staff" {
  path     = "${path.module}/users.csv"
  defaults = { usage_location = "CN" }
}

resource "m365_user" "staff" {
  for_each = data.m365_users_csv.staff.users

  user_principal_name = each.key
  display_name        = each.value.display_name
  given_name          = each.value.given_name
  surname             = each.value.surname
  job_title           = each.value.job_title
  department          = each.value.department
  mobile_phone        = each.value.mobile_phone
  city                = each.value.city
  usage_location      = each.value.usage_location
  # null for this template (no alias column): the users' aliases are left alone. An Exmail
  # export's 别名 column fills it.
  aliases = each.value.aliases

  licenses = [{ sku = "EXCHANGESTANDARD" }]

  # Security notice: the generated password is stored in the state (sensitive), like the
  # admin centre's result mail. Hand it over, and keep force_change_password_next_sign_in.
  generate_initial_password = true
}

output "initial_passwords" {
  value     = { for upn, u in m365_user.staff : upn => u.initial_password }
  sensitive = true
}
