# Tencent Exmail's 邮件群组 sales@contoso.com as an Exchange Online distribution group.
resource "m365_distribution_group" "sales" {
  name                 = "sales"
  display_name         = "销售部 Sales"
  primary_smtp_address = "sales@contoso.com"
  aliases              = ["xiaoshou@contoso.com"]
  members              = ["li.lei@contoso.com", "han.meimei@contoso.com"]
  owners               = ["admin@contoso.com"]

  # Exmail allow_type 1 (anyone, customers included). Leave it false for allow_type 0
  # (company members only), Exchange's default.
  allow_external_senders = true
}

# Exmail allow_type 2 (group members only): the group itself is the only allowed sender.
resource "m365_distribution_group" "board" {
  name                      = "board"
  primary_smtp_address      = "board@contoso.com"
  members                   = ["li.lei@contoso.com", "admin@contoso.com"]
  owners                    = ["admin@contoso.com"]
  accept_messages_only_from = ["board@contoso.com"]
}

# Groups nest: a group created in the same apply is referenced through its email attribute.
resource "m365_distribution_group" "all" {
  name                 = "all-staff"
  primary_smtp_address = "all@contoso.com"
  members              = [m365_distribution_group.sales.email, "admin@contoso.com"]
  owners               = ["admin@contoso.com"]
}
