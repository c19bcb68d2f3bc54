data "m365_mail_client_settings" "this" {}

output "phone_and_outlook_settings" {
  value = {
    imap = "${data.m365_mail_client_settings.this.imap_host}:${data.m365_mail_client_settings.this.imap_port} (${data.m365_mail_client_settings.this.imap_encryption})"
    smtp = "${data.m365_mail_client_settings.this.smtp_host}:${data.m365_mail_client_settings.this.smtp_port} (${data.m365_mail_client_settings.this.smtp_encryption})"
  }
}

# What phones and PCs should use: Outlook or the built-in Exchange account, signing in with OAuth.
output "client_advice" {
  value = {
    recommendation = data.m365_mail_client_settings.this.recommendation
    imap_sign_in   = data.m365_mail_client_settings.this.authentication["imap"].methods
    smtp_basic     = data.m365_mail_client_settings.this.authentication["smtp"].basic_auth
  }
}
