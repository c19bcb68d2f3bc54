# Merged into versions.tf and main.tf by Terraform (an *_override.tf file): adds the tencentcloud
# provider and lets the MX switch made by dnspod.tf start the final sync.
terraform {
  required_providers {
    tencentcloud = {
      source  = "tencentcloudstack/tencentcloud"
      version = ">= 1.81.0"
    }
  }
}

locals {
  mx_switched_at = var.dns_provider == "dnspod" ? one(terraform_data.mx_switch[*].output) : var.mx_switched_at
}

# Verify after DNSPod has the TXT record (the reference orders the two; the value is the same).
resource "m365_domain_verification" "company" {
  domain = coalesce(one(values(tencentcloud_dnspod_record.verification)[*].domain), m365_domain.company.name)
}
