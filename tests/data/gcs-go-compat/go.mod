module bindery/gcs-go-compat

go 1.21
