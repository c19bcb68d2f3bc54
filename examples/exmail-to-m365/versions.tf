terraform {
  # Write-only attributes and ephemeral resources: passwords never reach the plan or the state.
  required_version = ">= 1.11"

  required_providers {
    m365 = {
      source = "m365-migration/m365"
    }
    # DNSPod (tencentcloud) is added by dnspod/dnspod_override.tf when you copy dnspod/*.tf here:
    # see README.md, "DNS at DNSPod".
  }
}

# Credentials come from the environment (ARM_TENANT_ID, ARM_CLIENT_ID, ARM_CLIENT_SECRET, ...).
provider "m365" {
  environment = var.environment

  # Empty by default: the cloud's own hosts. `make demo` points them at the local Microsoft 365.
  # source_mode = "exmail_api": Tencent Exmail's open API (secrets from EXMAIL_CONTACTS_SECRET and
  # EXMAIL_OPTIONS_SECRET). Read only by the Exmail types.
  exmail {
    corp_id  = var.exmail.corp_id
    endpoint = var.exmail.endpoint
  }

  endpoints {
    login    = var.endpoints.login
    graph    = var.endpoints.graph
    exchange = var.endpoints.exchange
  }
}
