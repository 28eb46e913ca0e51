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
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, manifests, err := loadManifests(cmd.Context(), path)
			if err != nil {
				return err
			}
			for i, m := range manifests {
				name := cfg.Controllers[i].Name
				if name == "" {
					name = m.Name
				}
				fmt.Fprintf(cmd.OutOrStdout(), "controller %s: ok (for %s, owns %v, %d extra permissions)\n", name, m.For, m.Owns, len(m.Permissions))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid\n", path)
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "config.yaml", "configuration file")
	return cmd
}
