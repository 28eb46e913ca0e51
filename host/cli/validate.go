package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newValidateCommand() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check a configuration and compile its plugins, without a cluster",
		Long: `Check a configuration and compile its plugins, without a cluster: every
check run makes before it connects (configuration keys, plugin exports and
limits, each plugin's manifest: kinds, selector, related inputs, field paths,
permissions, event wording). What needs the cluster (whether each kind is
served) is left to run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, specs, err := loadSpecs(cmd.Context(), path)
			if err != nil {
				return err
			}
			for _, s := range specs {
				m := s.Manifest
				fmt.Fprintf(cmd.OutOrStdout(), "controller %s: ok (for %s, owns %v, %d extra permissions)\n", s.Name, m.For, m.Owns, len(m.Permissions))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid\n", path)
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "config.yaml", "configuration file")
	return cmd
}
