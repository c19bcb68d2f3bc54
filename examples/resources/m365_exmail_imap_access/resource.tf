data "m365_exmail_directory" "src" {}

# Switch IMAP/SMTP on for every member being moved; destroying this resource (after the
# cutover) switches it off again for the members who had it off.
resource "m365_exmail_imap_access" "src" {
  mailboxes = data.m365_exmail_directory.src.mailbox_map
}

output "previous_imap_setting" {
  value = m365_exmail_imap_access.src.previous
}
