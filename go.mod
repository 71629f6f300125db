module github.com/chanfitness/chanfitness

go 1.26

replace github.com/ulikunitz/xz => github.com/ulikunitz/xz v0.5.11

replace github.com/gogo/protobuf => github.com/gogo/protobuf v1.3.2

replace google.golang.org/protobuf => github.com/lightninglabs/protobuf-go-hex-display v1.33.0-hex-display

require (
	github.com/lightningnetwork/lnd/clock v1.1.1
	github.com/lightningnetwork/lnd/ticker v1.1.1
)

require github.com/stretchr/testify v1.11.1 // indirect
