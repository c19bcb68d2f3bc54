# Logs in to every mailbox of the CSV at each plan: keep it in a configuration of its own,
# run before the migration.
data "m365_imap_mailbox_survey" "exmail" {
  csv_file      = "${path.module}/wave1.csv"
  remote_server = "imap.exmail.qq.com"
  concurrency   = 4
}

output "failed_logins" {
  value = { for email, u in data.m365_imap_mailbox_survey.exmail.users : email => u.login_error if !u.login_ok }
}

output "not_migrated" {
  value = {
    for email, u in data.m365_imap_mailbox_survey.exmail.users : email => {
      folders         = u.skipped_folders
      items_over_35mb = u.items_over_35mb
      over_500k_items = u.over_item_limit
    } if length(u.skipped_folders) > 0 || u.items_over_35mb > 0 || u.over_item_limit
  }
}

output "totals" {
  value = data.m365_imap_mailbox_survey.exmail.totals
}
