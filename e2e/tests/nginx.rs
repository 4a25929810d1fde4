//! The static-host deployment: Debian's nginx serves dist/ with deploy/nginx.conf and forwards
//! /api to the backend; a person logs in through it in Chromium.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::{bail, Context, Result};
use e2e::{Browser, Stack};

struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn nginx_binary() -> Result<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .context("nginx is not installed (apt-get install nginx; .ci/run does it)")
}

/// deploy/nginx.conf with only its listen, root, proxy_pass and include lines pointed at this
/// test's ports and folders, inside a minimal main configuration.
fn start_nginx(port: u16, backend: &str, dist: &Path, work: &Path) -> Result<Nginx> {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let server = std::fs::read_to_string(deploy.join("nginx.conf"))?
        .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
        .replace("/srv/portero/dist", &dist.display().to_string())
        .replace("http://127.0.0.1:3000", backend)
        .replace(
            "/etc/nginx/portero-headers.conf",
            &deploy.join("portero-headers.conf").display().to_string(),
        );
    std::fs::write(work.join("portero.conf"), server)?;
    let main = format!(
        "daemon off;\nworker_processes 1;\npid {w}/nginx.pid;\nerror_log {w}/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  include /etc/nginx/mime.types;\n  access_log off;\n\
           client_body_temp_path {w}/body;\n  proxy_temp_path {w}/proxy;\n\
           fastcgi_temp_path {w}/fastcgi;\n  uwsgi_temp_path {w}/uwsgi;\n  scgi_temp_path {w}/scgi;\n\
           include {w}/portero.conf;\n}}\n",
        w = work.display()
    );
    std::fs::write(work.join("main.conf"), main)?;
    let child = Command::new(nginx_binary()?)
        .arg("-p")
        .arg(work)
        .arg("-c")
        .arg(work.join("main.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(Nginx(child))
}

#[tokio::test]
async fn a_person_logs_in_through_nginx_serving_dist_and_forwarding_the_api() -> Result<()> {
    let dist =
        PathBuf::from(std::env::var("PORTERO_E2E_DIST").context("run with cargo xtask test")?);
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let origin = format!("http://127.0.0.1:{port}");
    // The backend knows nginx's origin as its public origin; it listens on its own port.
    let builder = Stack::bind_with_origin(&origin).await?;
    let backend = builder.listen_url();
    let stack = builder.start("").await?;
    let work = std::env::temp_dir().join(format!("portero-nginx-{port}"));
    std::fs::create_dir_all(&work)?;
    let _nginx = start_nginx(port, &backend, &dist, &work)?;
    let mut up = false;
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !up {
        bail!(
            "nginx did not start: {}",
            std::fs::read_to_string(work.join("error.log")).unwrap_or_default()
        );
    }

    let browser = Browser::start().await?;
    browser.goto(&format!("{origin}/")).await?;
    browser.click("button[data-provider='dev']").await?;
    browser.click("button[data-user='ada']").await?;
    browser.click("#allow").await?;
    browser.wait_for_path("/profile").await?;
    assert_eq!(browser.text("#profile-name").await?, "Ada Lovelace");
    assert_eq!(browser.api_status("/api/me").await?, 200);
    // Reload on a client-side route: nginx answers index.html, the session holds.
    browser.goto(&format!("{origin}/profile")).await?;
    assert_eq!(browser.text("#profile-name").await?, "Ada Lovelace");
    drop(stack);
    browser.close().await?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}
