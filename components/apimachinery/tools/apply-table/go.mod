module warren/apply-table

go 1.19
