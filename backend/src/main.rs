use std::{path::PathBuf, process::ExitCode};

use portero::{
    config::Config,
    startup::Application,
    telemetry::{self, LogFormat},
    ClientKey,
};

const USAGE: &str = "usage: portero --config FILE [--check-config | --print-client-jwk PROVIDER]
       portero --new-client-key FILE
       (or PORTERO_CONFIG=FILE portero)

  --config FILE                the TOML configuration (see docs/design.md, \"Configuration\")
  --check-config               validate the configuration, print the providers, and exit
  --print-client-jwk PROVIDER  print the public JWK Set of PROVIDER's client_key_file (what the
                               provider registers for private_key_jwt), and exit
  --new-client-key FILE        write a new EC P-256 private key (PEM, mode 0600) to FILE for
                               client_key_file, print its public JWK Set, and exit
  --log-json                   write logs as one JSON object per line (or PORTERO_LOG_FORMAT=json)";

/// mimalloc rather than glibc's malloc: every request allocates and frees many small buffers
/// across threads, where glibc spent a fifth of the gateway's CPU (docs/BENCHMARKS.md, "Where
/// the gateway spends its time").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let mut log_format = match std::env::var("PORTERO_LOG_FORMAT").as_deref() {
        Ok("json") => LogFormat::Json,
        _ => LogFormat::Human,
    };
    let mut config_path = std::env::var_os("PORTERO_CONFIG").map(PathBuf::from);
    let mut check_only = false;
    let mut print_jwk = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => config_path = args.next().map(PathBuf::from),
            "--check-config" => check_only = true,
            "--print-client-jwk" => print_jwk = Some(args.next().unwrap_or_default()),
            "--new-client-key" => {
                let Some(file) = args.next() else {
                    eprintln!("portero: --new-client-key needs a FILE\n{USAGE}");
                    return ExitCode::from(2);
                };
                return new_client_key(file.as_ref());
            }
            "--log-json" => log_format = LogFormat::Json,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("portero: unknown argument {other:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    telemetry::init(log_format);
    let Some(path) = config_path else {
        eprintln!("portero: no configuration given\n{USAGE}");
        return ExitCode::from(2);
    };
    let config = match Config::load(&path) {
        Ok(config) => config,
        // An environment variable at fault is named by the message; the file is not to blame.
        Err(e) if e.blames_file() => {
            eprintln!("portero: {}: {e}", path.display());
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("portero: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(id) = print_jwk {
        return match config.providers.iter().find(|p| p.id == id) {
            Some(provider) => match &provider.client_key {
                Some(key) => {
                    println!("{}", key.jwks());
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!("portero: providers.{id} has no client_key_file (client_auth is not private_key_jwt)");
                    ExitCode::from(2)
                }
            },
            None => {
                eprintln!("portero: no provider {id:?} in {}", path.display());
                ExitCode::from(2)
            }
        };
    }
    if check_only {
        let ids: Vec<_> = config.providers.iter().map(|p| p.id.as_str()).collect();
        println!("{}: ok (providers: {})", path.display(), ids.join(", "));
        return ExitCode::SUCCESS;
    }
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("portero: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("portero listening on http://{}", app.local_addr());
    if let Err(e) = app.run_until_stopped().await {
        eprintln!("portero: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// `--new-client-key FILE`: a new P-256 key for `client_key_file`, readable by its owner only;
/// an existing file is never overwritten.
fn new_client_key(path: &std::path::Path) -> ExitCode {
    match ClientKey::write_new(path) {
        Ok(key) => {
            println!("{}", key.jwks());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("portero: cannot write {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}
