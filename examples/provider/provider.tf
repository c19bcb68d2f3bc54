# Credentials come from the environment (ARM_TENANT_ID, ARM_CLIENT_ID, ARM_CLIENT_SECRET, ...),
# so nothing secret is written in configuration.
provider "m365" {
  environment = "china" # Office 365 operated by 21Vianet; "global" by default
}

# Against a local emulator or a proxy, override the hosts:
# provider "m365" {
#   tenant_id     = "00000000-0000-0000-0000-000000000000"
#   client_id     = "11111111-1111-1111-1111-111111111111"
#   client_secret = var.client_secret
#   endpoints {
#     login    = "https://127.0.0.1:8443"
#     graph    = "https://127.0.0.1:8444"
#     exchange = "https://127.0.0.1:8445"
#   }
# }
