//! The CRI calls the checks make, as a kubelet makes them: pods with their
//! sandbox config, containers created in a pod with that config, exec,
//! status, stats, update, stop and remove.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use hyper_util::rt::TokioIo;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::*;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::Args;

/// Label on every pod of this run, so listing finds only ours.
pub const LABEL: &str = "hull-cri-test";

pub struct Cri {
    rt: RuntimeServiceClient<Channel>,
    handler: String,
    cgroup_parent: String,
    systemd: bool,
    work: String,
    image: String,
    /// Each pod's config, which CreateContainer takes again.
    pods: HashMap<String, PodSandboxConfig>,
}

/// An exec's result.
pub struct Exec {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Cri {
    pub async fn connect(args: &Args) -> Result<Cri> {
        let path = args.socket.clone();
        let channel =
            Endpoint::try_from("http://[::]:0")?
                .timeout(Duration::from_secs(120))
                .connect_with_connector(tower::service_fn(move |_: Uri| {
                    let path = path.clone();
                    async move {
                        Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?))
                    }
                }))
                .await
                .with_context(|| format!("connecting to {}", args.socket))?;
        let mut rt = RuntimeServiceClient::new(channel);
        let version = rt.version(VersionRequest::default()).await?.into_inner();
        if version.runtime_api_version != "v1" {
            bail!("CRI API {} (want v1)", version.runtime_api_version);
        }
        Ok(Cri {
            rt,
            handler: args.handler.clone(),
            cgroup_parent: args.cgroup_parent.clone(),
            systemd: args.systemd,
            work: args.work.clone(),
            image: args.image.clone(),
            pods: HashMap::new(),
        })
    }

    /// The pod's cgroup parent, as a kubelet passes it: a path below the
    /// run's parent, or with the systemd driver a slice.
    pub fn cgroup_parent(&self, pod: &str) -> String {
        if self.systemd {
            format!("{}-{pod}.slice", self.cgroup_parent)
        } else {
            format!("{}/{pod}", self.cgroup_parent)
        }
    }

    /// RunPodSandbox with the handler, network, PID and IPC namespaces
    /// pod-wide (as a pod with `shareProcessNamespace`); the pod's name is
    /// its hostname and its cgroup parent's last part.
    pub async fn run_pod(&mut self, name: &str, privileged: bool) -> Result<String> {
        let log_directory = format!("{}/logs/{name}", self.work);
        std::fs::create_dir_all(&log_directory)?;
        let config = PodSandboxConfig {
            metadata: Some(PodSandboxMetadata {
                name: name.into(),
                uid: format!("{}-{name}", self.handler),
                namespace: "hull-cri".into(),
                attempt: 0,
            }),
            hostname: name.into(),
            log_directory,
            labels: HashMap::from([(LABEL.into(), self.handler.clone())]),
            linux: Some(LinuxPodSandboxConfig {
                cgroup_parent: self.cgroup_parent(name),
                security_context: Some(LinuxSandboxSecurityContext {
                    namespace_options: Some(NamespaceOption {
                        network: NamespaceMode::Pod as i32,
                        pid: NamespaceMode::Pod as i32,
                        ipc: NamespaceMode::Pod as i32,
                        ..Default::default()
                    }),
                    privileged,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let id = self
            .rt
            .run_pod_sandbox(RunPodSandboxRequest {
                config: Some(config.clone()),
                runtime_handler: self.handler.clone(),
            })
            .await
            .with_context(|| format!("RunPodSandbox {name}"))?
            .into_inner()
            .pod_sandbox_id;
        self.pods.insert(id.clone(), config);
        Ok(id)
    }

    pub async fn pod_ip(&mut self, pod: &str) -> Result<String> {
        let status = self
            .rt
            .pod_sandbox_status(PodSandboxStatusRequest {
                pod_sandbox_id: pod.into(),
                verbose: false,
            })
            .await?
            .into_inner()
            .status
            .context("PodSandboxStatus has no status")?;
        Ok(status.network.map(|n| n.ip).unwrap_or_default())
    }

    /// A container config for `command` in the run's image, logging to
    /// NAME.log in the pod's log directory; `linux` as given.
    pub fn container(&self, name: &str, command: &[&str]) -> ContainerConfig {
        ContainerConfig {
            metadata: Some(ContainerMetadata {
                name: name.into(),
                attempt: 0,
            }),
            image: Some(ImageSpec {
                image: self.image.clone(),
                ..Default::default()
            }),
            command: command.iter().map(|s| s.to_string()).collect(),
            log_path: format!("{name}.log"),
            linux: Some(LinuxContainerConfig::default()),
            ..Default::default()
        }
    }

    pub async fn create(&mut self, pod: &str, config: ContainerConfig) -> Result<String> {
        let name = config.metadata.as_ref().map(|m| m.name.clone());
        let sandbox = self.pods.get(pod).cloned().context("no such pod")?;
        Ok(self
            .rt
            .create_container(CreateContainerRequest {
                pod_sandbox_id: pod.into(),
                config: Some(config),
                sandbox_config: Some(sandbox),
            })
            .await
            .with_context(|| format!("CreateContainer {}", name.unwrap_or_default()))?
            .into_inner()
            .container_id)
    }

    pub async fn start(&mut self, id: &str) -> Result<()> {
        self.rt
            .start_container(StartContainerRequest {
                container_id: id.into(),
            })
            .await
            .context("StartContainer")?;
        Ok(())
    }

    /// Create and start.
    pub async fn run(&mut self, pod: &str, config: ContainerConfig) -> Result<String> {
        let id = self.create(pod, config).await?;
        self.start(&id).await?;
        Ok(id)
    }

    pub async fn exec(&mut self, id: &str, cmd: &[&str]) -> Result<Exec> {
        let r = self
            .rt
            .exec_sync(ExecSyncRequest {
                container_id: id.into(),
                cmd: cmd.iter().map(|s| s.to_string()).collect(),
                timeout: 60,
            })
            .await
            .with_context(|| format!("ExecSync {cmd:?}"))?
            .into_inner();
        Ok(Exec {
            stdout: String::from_utf8_lossy(&r.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&r.stderr).into_owned(),
            code: r.exit_code,
        })
    }

    /// An exec's stdout, trimmed; an error when it did not exit 0.
    pub async fn output(&mut self, id: &str, cmd: &[&str]) -> Result<String> {
        let r = self.exec(id, cmd).await?;
        if r.code != 0 {
            bail!("{cmd:?} exited {}: {}{}", r.code, r.stdout, r.stderr);
        }
        Ok(r.stdout.trim().to_string())
    }

    /// A field of /proc/self/status inside the container.
    pub async fn proc_status(&mut self, id: &str, field: &str) -> Result<String> {
        let pattern = format!("^{field}:");
        let line = self
            .output(id, &["grep", &pattern, "/proc/self/status"])
            .await?;
        Ok(line[field.len() + 1..]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "))
    }

    pub async fn status(&mut self, id: &str) -> Result<ContainerStatusResponse> {
        Ok(self
            .rt
            .container_status(ContainerStatusRequest {
                container_id: id.into(),
                verbose: true,
            })
            .await
            .context("ContainerStatus")?
            .into_inner())
    }

    pub async fn state(&mut self, id: &str) -> Result<ContainerStatus> {
        self.status(id)
            .await?
            .status
            .context("ContainerStatus has no status")
    }

    /// The container's init pid on the host (the verbose status' info).
    pub async fn pid(&mut self, id: &str) -> Result<u32> {
        let info = self.status(id).await?.info;
        let info: serde_json::Value =
            serde_json::from_str(info.get("info").context("no verbose info")?)?;
        info["pid"]
            .as_u64()
            .and_then(|p| u32::try_from(p).ok())
            .filter(|&p| p > 0)
            .with_context(|| format!("no pid in {info}"))
    }

    /// Waits (at most 60 s: a bound against a hang only) until the container
    /// has exited, and returns its status.
    pub async fn wait_exited(&mut self, id: &str) -> Result<ContainerStatus> {
        for _ in 0..600 {
            let s = self.state(id).await?;
            if s.state == ContainerState::ContainerExited as i32 {
                return Ok(s);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("container {id} did not exit")
    }

    pub async fn stats(&mut self, id: &str) -> Result<ContainerStats> {
        self.rt
            .container_stats(ContainerStatsRequest {
                container_id: id.into(),
            })
            .await
            .context("ContainerStats")?
            .into_inner()
            .stats
            .context("ContainerStats has no stats")
    }

    pub async fn update(&mut self, id: &str, resources: LinuxContainerResources) -> Result<()> {
        self.rt
            .update_container_resources(UpdateContainerResourcesRequest {
                container_id: id.into(),
                linux: Some(resources),
                ..Default::default()
            })
            .await
            .context("UpdateContainerResources")?;
        Ok(())
    }

    pub async fn stop(&mut self, id: &str, timeout: i64) -> Result<()> {
        self.rt
            .stop_container(StopContainerRequest {
                container_id: id.into(),
                timeout,
            })
            .await
            .context("StopContainer")?;
        Ok(())
    }

    pub async fn remove(&mut self, id: &str) -> Result<()> {
        self.rt
            .remove_container(RemoveContainerRequest {
                container_id: id.into(),
            })
            .await
            .context("RemoveContainer")?;
        Ok(())
    }

    /// StopPodSandbox and RemovePodSandbox of every pod this run made.
    pub async fn remove_pods(&mut self) -> Result<()> {
        let ids: Vec<String> = self.pods.keys().cloned().collect();
        for id in ids {
            self.rt
                .stop_pod_sandbox(StopPodSandboxRequest {
                    pod_sandbox_id: id.clone(),
                })
                .await
                .with_context(|| format!("StopPodSandbox {id}"))?;
            self.rt
                .remove_pod_sandbox(RemovePodSandboxRequest {
                    pod_sandbox_id: id.clone(),
                })
                .await
                .with_context(|| format!("RemovePodSandbox {id}"))?;
            self.pods.remove(&id);
        }
        Ok(())
    }

    /// The pods and containers of this handler's run that CRI still lists.
    pub async fn leftovers(&mut self) -> Result<Vec<String>> {
        let label = HashMap::from([(LABEL.to_string(), self.handler.clone())]);
        let pods = self
            .rt
            .list_pod_sandbox(ListPodSandboxRequest {
                filter: Some(PodSandboxFilter {
                    label_selector: label,
                    ..Default::default()
                }),
            })
            .await?
            .into_inner()
            .items;
        let mut left: Vec<String> = pods.into_iter().map(|p| format!("pod {}", p.id)).collect();
        let containers = self
            .rt
            .list_containers(ListContainersRequest { filter: None })
            .await?
            .into_inner()
            .containers;
        left.extend(
            containers
                .into_iter()
                .map(|c| format!("container {}", c.id)),
        );
        Ok(left)
    }
}
