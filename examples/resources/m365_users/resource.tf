data "m365_users_csv" "staff" {
  path     = "${path.module}/users.csv"
  defaults = { usage_location = "CN" }
}

# Pass it with TF_VAR_initial_password; an ephemeral variable never reaches the state or the plan.
variable "initial_password" {
  type      = string
  ephemeral = true
  sensitive = true
}

resource "m365_users" "staff" {
  # Each user may carry `aliases` (from an Exmail export's 别名 column, or a list in a literal
  # map): written through Exchange Online once the mailbox exists.
  users = data.m365_users_csv.staff.users

  licenses = [{
    sku            = "O365_BUSINESS_PREMIUM"
    disabled_plans = ["TEAMS1"]
  }]

  # Every new user gets this temporary password and must change it at the first sign-in.
  # Increment the version to send it again to every user.
  password_wo         = var.initial_password
  password_wo_version = 1

  # Users that already exist with these names stop the plan unless they are adopted.
  adopt_existing = false
}

output "user_ids" {
  value = m365_users.staff.ids
}
