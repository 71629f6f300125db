package cln

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestListenValuesCheck: the listener is off by default, on loopback
// when given a port alone or an empty host, and a bad value is refused
// with an error naming the option.
func TestListenValuesCheck(t *testing.T) {
	for _, tc := range []struct {
		v       listenValues
		addr    string
		wantErr []string
	}{
		{listenValues{}, "", nil},
		{listenValues{Listen: "9740"}, "127.0.0.1:9740", nil},
		{listenValues{Listen: ":9740"}, "127.0.0.1:9740", nil},
		{listenValues{Listen: "0.0.0.0:9740"}, "0.0.0.0:9740", nil},
		{listenValues{Listen: "[::1]:9740"}, "[::1]:9740", nil},
		{listenValues{Listen: "127.0.0.1:0"}, "127.0.0.1:0", nil},
		{listenValues{Listen: "localhost"}, "",
			[]string{optListen, `"localhost"`, "host:port"}},
		{listenValues{Listen: "127.0.0.1:99999"}, "",
			[]string{optListen, `"99999"`}},
		{listenValues{Listen: "127.0.0.1:http"}, "",
			[]string{optListen, `"http"`}},
		{listenValues{Listen: "9740", Insecure: "yes"}, "",
			[]string{optListenInsecure, `"yes"`}},
		{listenValues{Listen: "9740", Cert: "c"}, "",
			[]string{optTLSCert, optTLSKey, "both"}},
		{listenValues{Listen: "9740", IPs: "10.0.0.1, nope"}, "",
			[]string{optTLSIPs, `"nope"`}},
	} {
		s, err := tc.v.check()
		if tc.wantErr != nil {
			require.Error(t, err, "%+v", tc.v)
			for _, w := range tc.wantErr {
				require.Contains(t, err.Error(), w)
			}
			continue
		}
		require.NoError(t, err, "%+v", tc.v)
		require.Equal(t, tc.addr, s.Addr, "%+v", tc.v)
	}
	s, err := listenValues{Listen: "9740", Insecure: "true",
		Domains: "a.example, ,b.example", IPs: "10.0.0.1"}.check()
	require.NoError(t, err)
	require.True(t, s.Insecure)
	require.Equal(t, []string{"a.example", "b.example"}, s.Domains)
	require.Equal(t, []string{"10.0.0.1"}, s.IPs)
}
