// Command autonf fits, evaluates and samples normalizing flows, and
// searches their architecture automatically (AutoNF).
//
//	autonf train   --data F [--val F --test F] --arch PRESET|SPEC.json --out MODEL
//	autonf eval    --model MODEL --data F
//	autonf sample  --model MODEL -n N --out F.csv|F.npy
//	autonf density --model MODEL --data F --out F.csv|F.npy
//	autonf arch    --list | --show NAME
//
// Run "autonf COMMAND --help" for each command's flags.
package main
