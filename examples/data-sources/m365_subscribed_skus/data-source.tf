# Every licence SKU of the tenant, with free seats.
data "m365_subscribed_skus" "all" {}

# One SKU: reading fails, listing the tenant's part numbers, if the tenant does not have it.
data "m365_subscribed_skus" "business_premium" {
  sku_part_number = "O365_BUSINESS_PREMIUM"
}

output "free_business_premium_seats" {
  value = data.m365_subscribed_skus.business_premium.skus[0].available_units
}

output "seats_by_sku" {
  value = { for k, s in data.m365_subscribed_skus.all.by_part_number : k => s.available_units }
}
