module gojsondiff

go 1.19
