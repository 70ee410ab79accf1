module github.com/roko-network/roko-ptpd/bench

go 1.26.0

replace github.com/roko-network/roko-ptpd => ../

require (
	github.com/facebook/time v0.0.0-20260822211804-f81aedc1c1e3
	github.com/roko-network/roko-ptpd v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/gopacket/gopacket v1.7.7 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
