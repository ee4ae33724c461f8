package live

import "github.com/arbiontrader/arbion/errors"

// RiskRules returns the names of the rules in every *errors.RiskError err
// holds (a refusal by several rules joins several); none when err is not a
// risk refusal.
func RiskRules(err error) []string {
	if err == nil {
		return nil
	}
	var names []string
	if re, ok := err.(*errors.RiskError); ok {
		name := re.Rule
		if name == "" {
			name = re.Kind.Error()
		}
		names = append(names, name)
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			names = append(names, RiskRules(e)...)
		}
	case interface{ Unwrap() error }:
		names = append(names, RiskRules(u.Unwrap())...)
	}
	return names
}
