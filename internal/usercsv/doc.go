// Package usercsv reads the CSV files a mail migration to Microsoft 365 starts
// from, in whatever encoding they were saved, and checks them before anything
// is written to a tenant:
//
//   - user lists (the admin centre's "Add multiple users" template, a Tencent
//     Exmail address-book export, or any CSV with a custom column map), turned
//     into [User] values that respect the Microsoft Graph limits;
//   - IMAP migration CSV files (EmailAddress,UserName,Password[,UserRoot]),
//     checked and re-written as UTF-8 ready to send as CSVData.
//
// Every problem found is reported in one pass as a [Problem] carrying the file
// name, the physical line and the character column, a message and a fix, e.g.
//
//	users.csv:7:1: user name "张三@corp.com" contains non-ASCII characters — use a pinyin alias ...
//
// The package has no Terraform or Graph dependency and never puts a password
// into a problem message.
package usercsv
