# By user principal name or by object id.
terraform import m365_user.it_admin it.admin@contoso.com
terraform import m365_user.it_admin 6e7b768e-07e2-4810-8459-485f84f8f204
