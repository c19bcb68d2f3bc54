data "m365_mail_client_settings" "this" {}

output "phone_and_outlook_settings" {
  value = {
    imap = "${data.m365_mail_client_settings.this.imap_host}:${data.m365_mail_client_settings.this.imap_port} (${data.m365_mail_client_settings.this.imap_encryption})"
    smtp = "${data.m365_mail_client_settings.this.smtp_host}:${data.m365_mail_client_settings.this.smtp_port} (${data.m365_mail_client_settings.this.smtp_encryption})"
  }
}
