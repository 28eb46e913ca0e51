package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"wasmctl.dev/wasmctl/abi"
	"wasmctl.dev/wasmctl/host/oci"
	"wasmctl.dev/wasmctl/host/runtime"
)

// ociFlags are the registry settings of the commands that take an oci://
// reference outside a configuration (the config's oci: block otherwise).
type ociFlags struct {
	cacheDir, dockerConfig, publicKey string
	plainHTTP                         []string
}

func (f *ociFlags) bind(fs *pflag.FlagSet, verify bool) {
	fs.StringVar(&f.cacheDir, "oci-cache-dir", "", "cache of pulled plugins (default: $XDG_CACHE_HOME/wasmctl/oci)")
	fs.StringVar(&f.dockerConfig, "docker-config", "", "docker config file with registry credentials (default: $DOCKER_CONFIG/config.json, ~/.docker/config.json)")
	fs.StringSliceVar(&f.plainHTTP, "plain-http", nil, "registries (HOST[:PORT]) spoken to over plain HTTP; loopback always is")
	if verify {
		fs.StringVar(&f.publicKey, "public-key", "", "verify the plugin's cosign signature with this PEM public key")
	}
}

func (f *ociFlags) resolver() (*oci.Resolver, error) {
	return oci.New(oci.Options{CacheDir: f.cacheDir, DockerConfig: f.dockerConfig, PlainHTTP: f.plainHTTP})
}

// pluginFile is the local file of a plugin argument: the file itself, or
// an oci:// reference pulled (and verified with --public-key) into the
// cache.
func (f *ociFlags) pluginFile(ctx context.Context, plugin string) (string, error) {
	if !oci.IsReference(plugin) {
		return plugin, nil
	}
	r, err := f.resolver()
	if err != nil {
		return "", err
	}
	a, err := r.Resolve(ctx, plugin, oci.ResolveOptions{PublicKey: f.publicKey})
	if err != nil {
		return "", err
	}
	return a.Path, nil
}

func newPushCommand() *cobra.Command {
	var f ociFlags
	var signKey, version string
	var annotations []string
	cmd := &cobra.Command{
		Use:   "push PLUGIN.wasm oci://HOST/REPO:TAG",
		Short: "Push a plugin to an OCI registry as a Wasm artifact, annotated from its manifest, optionally signed",
		Long: `Push a plugin to an OCI registry in the Wasm OCI artifact layout (config
application/vnd.wasm.config.v0+json, one application/wasm layer). The
manifest's annotations come from the plugin's describe: name
(org.opencontainers.image.title), version, dev.wasmctl.for, dev.wasmctl.owns,
dev.wasmctl.permissions and the whole manifest (dev.wasmctl.manifest, which
rbac reads without pulling the module).

--sign-key signs the pushed digest as cosign sign --new-bundle-format does
(a Sigstore bundle attached as a referrer, no transparency log): a key from
cosign generate-key-pair (password in $COSIGN_PASSWORD) or a PKCS#8 PEM key.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			wasm, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			ann, err := describeAnnotations(ctx, wasm, args[0])
			if err != nil {
				return err
			}
			if version != "" {
				ann[oci.AnnotationVersion] = version
			}
			for _, kv := range annotations {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("--annotation %q: want key=value", kv)
				}
				ann[k] = v
			}
			o := oci.PushOptions{Annotations: ann}
			if signKey != "" {
				if o.SignKey, err = oci.LoadPrivateKey(signKey, []byte(os.Getenv(oci.PasswordEnv))); err != nil {
					return err
				}
			}
			r, err := f.resolver()
			if err != nil {
				return err
			}
			a, err := r.Push(ctx, wasm, args[1], o)
			if err != nil {
				return err
			}
			signed := "unsigned"
			if o.SignKey != nil {
				signed = "signed"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pushed %s (%s)\n", a.Ref.At(a.Digest), signed)
			return nil
		},
	}
	f.bind(cmd.Flags(), false)
	cmd.Flags().StringVar(&signKey, "sign-key", "", "sign the pushed artifact with this private key (cosign's format, password in $COSIGN_PASSWORD)")
	cmd.Flags().StringVar(&version, "version", "", "org.opencontainers.image.version (default: the manifest's version)")
	cmd.Flags().StringArrayVar(&annotations, "annotation", nil, "further manifest annotation key=value (repeatable)")
	return cmd
}

// describeAnnotations compiles the plugin, calls describe and returns the
// manifest's annotations.
func describeAnnotations(ctx context.Context, wasm []byte, name string) (map[string]string, error) {
	rt, err := runtime.New(runtime.Options{CacheDir: "none"})
	if err != nil {
		return nil, err
	}
	defer rt.Close(context.Background())
	p, err := rt.Load(ctx, wasm, runtime.LoadOptions{Name: name})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer p.Close(context.Background())
	ann := map[string]string{}
	if !p.HasExport(abi.ExportDescribe) {
		return ann, nil // nothing to say: the config names for and owns
	}
	raw, err := p.Call(ctx, abi.ExportDescribe, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: describe: %w", name, err)
	}
	var m abi.Manifest
	if err := abi.DecodeStrict(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: describe returned an invalid manifest: %w", name, err)
	}
	compact, _ := json.Marshal(m)
	ann[oci.AnnotationManifest] = string(compact)
	ann[oci.AnnotationTitle] = m.Name
	if m.Version != "" {
		ann[oci.AnnotationVersion] = m.Version
	}
	ann[oci.AnnotationFor] = m.For.APIVersion + " " + m.For.Kind
	var owns []string
	for _, o := range m.Owns {
		owns = append(owns, o.APIVersion+" "+o.Kind)
	}
	if len(owns) > 0 {
		ann[oci.AnnotationOwns] = strings.Join(owns, ", ")
	}
	if len(m.Permissions) > 0 {
		perms, _ := json.Marshal(m.Permissions)
		ann[oci.AnnotationPermissions] = string(perms)
	}
	return ann, nil
}

func newPullCommand() *cobra.Command {
	var f ociFlags
	var output string
	cmd := &cobra.Command{
		Use:   "pull oci://HOST/REPO:TAG|@sha256:...",
		Short: "Pull a plugin into the cache (verified with --public-key), print its digest and annotations",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := f.resolver()
			if err != nil {
				return err
			}
			a, err := r.Resolve(cmd.Context(), args[0], oci.ResolveOptions{PublicKey: f.publicKey})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			verified := "signature not checked (no --public-key)"
			if a.Verified {
				verified = "signature verified with " + f.publicKey
			}
			fmt.Fprintf(out, "reference: %s\ndigest:    %s\nmodule:    %s\nfile:      %s\n%s\n", a.Ref, a.Digest, a.WasmDigest, a.Path, verified)
			keys := make([]string, 0, len(a.Annotations))
			for k := range a.Annotations {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(out, "annotation %s: %s\n", k, a.Annotations[k])
			}
			if output != "" {
				data, err := os.ReadFile(a.Path)
				if err != nil {
					return err
				}
				return os.WriteFile(output, data, 0o644)
			}
			return nil
		},
	}
	f.bind(cmd.Flags(), true)
	cmd.Flags().StringVarP(&output, "output", "o", "", "also write the module to this file")
	return cmd
}

func newSignCommand() *cobra.Command {
	var f ociFlags
	var key string
	cmd := &cobra.Command{
		Use:   "sign oci://HOST/REPO:TAG|@sha256:... --key cosign.key",
		Short: "Sign a pushed plugin as cosign sign --new-bundle-format --tlog-upload=false does",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if key == "" {
				return fmt.Errorf("--key is required")
			}
			k, err := oci.LoadPrivateKey(key, []byte(os.Getenv(oci.PasswordEnv)))
			if err != nil {
				return err
			}
			r, err := f.resolver()
			if err != nil {
				return err
			}
			d, err := r.Sign(cmd.Context(), args[0], k)
			if err != nil {
				return err
			}
			ref, _ := oci.ParseReference(args[0])
			fmt.Fprintf(cmd.OutOrStdout(), "signed %s\n", ref.At(d))
			return nil
		},
	}
	f.bind(cmd.Flags(), false)
	cmd.Flags().StringVar(&key, "key", "", "private key (cosign's format, password in $COSIGN_PASSWORD, or PKCS#8 PEM)")
	return cmd
}

// manifestFromAnnotations is the describe manifest push stored on an
// artifact (nil when it has none, or the plugin describes nothing).
func manifestFromAnnotations(a *oci.Artifact) (*abi.Manifest, error) {
	raw, ok := a.Annotations[oci.AnnotationManifest]
	if !ok {
		return nil, nil
	}
	var m abi.Manifest
	if err := abi.DecodeStrict([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf("%s: annotation %s: %w", a.Ref.At(a.Digest), oci.AnnotationManifest, err)
	}
	return &m, nil
}
