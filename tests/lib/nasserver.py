"""Real NAS servers for tests, on 127.0.0.1 only, each in a temporary folder
of its own (see ../shared/TESTSERVERS.md): Samba's smbd (SMB, a smbpasswd
user) and nfs-ganesha (NFSv4 without rpcbind). Each is started on a free
port, waited for until it accepts connections, and stopped with SIGTERM."""
import getpass
import os
import shutil
import socket
import subprocess
import tempfile
import time

GANESHA_PLUGINS = "/usr/lib/x86_64-linux-gnu/ganesha"


def free_port():
    """A TCP port nobody listens on at the moment, on 127.0.0.1."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _wait_port(proc, port, what, log, timeout=20):
    """Waits until port accepts a connection; raises if proc dies first."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited with status %d before listening:\n%s"
                               % (what, proc.returncode, _tail(log)))
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("%s did not listen on port %d in %d s:\n%s" % (what, port, timeout, _tail(log)))


def _tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(no log)"


class _Server:
    """What both servers share: a temp folder, a process, a stop()."""

    def __init__(self, prefix, tmpfs_size=None):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.proc = None
        self.port = None
        self.tmpfs_size = tmpfs_size
        self.mounted = None

    def _data_dir(self, path):
        """Makes the served folder; on a tmpfs of tmpfs_size bytes if asked
        (a disk that fills up; needs root: raises OSError otherwise)."""
        os.makedirs(path, exist_ok=True)
        if self.tmpfs_size:
            r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0755" % self.tmpfs_size, "tmpfs", path],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if r.returncode != 0:
                raise OSError("cannot mount a tmpfs on %s: %s" % (path, r.stdout.decode(errors="replace")))
            self.mounted = path

    def stop(self):
        """SIGTERM, wait, then remove the temp folder; safe to call twice."""
        if self.proc is not None:
            pid = self.proc.pid
            own_group = False
            try:
                own_group = os.getpgid(pid) == pid  # smbd leads a process group of its own
            except OSError:
                pass
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(15)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            # its children (smbd's per-connection ones) end with it: wait a
            # little for them, only looking (signal 0), so the folder is free
            deadline = time.time() + 5
            while own_group and time.time() < deadline:
                try:
                    os.killpg(pid, 0)
                except OSError:
                    break
                time.sleep(0.05)
        self.proc = None
        if self.mounted is not None:
            for _ in range(50):
                if subprocess.run(["umount", self.mounted], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL).returncode == 0:
                    break
                time.sleep(0.1)
            self.mounted = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Samba(_Server):
    """smbd serving [share] (self.share_dir) to self.user / self.password."""

    def __init__(self, password="xentui-test-pw", tmpfs_size=None):
        super().__init__("xentui-smbd-", tmpfs_size)
        self.user = getpass.getuser()  # smbpasswd needs an existing Unix user
        self.password = password
        self.share_dir = os.path.join(self.dir, "share")
        self.log = os.path.join(self.dir, "log.smbd")

    def start(self):
        d = self.dir
        for sub in ("private", "lock", "state", "cache", "pid", "ncalrpc"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        self._data_dir(self.share_dir)
        self.port = free_port()
        conf = os.path.join(d, "smb.conf")
        with open(conf, "w") as f:
            f.write("""[global]
server role = standalone server
interfaces = 127.0.0.1
bind interfaces only = yes
smb ports = %(port)d
disable netbios = yes
passdb backend = tdbsam:%(d)s/private/passdb.tdb
private dir = %(d)s/private
lock directory = %(d)s/lock
state directory = %(d)s/state
cache directory = %(d)s/cache
pid directory = %(d)s/pid
ncalrpc dir = %(d)s/ncalrpc
log file = %(d)s/log.%%m
log level = 1
load printers = no
printcap name = /dev/null
disable spoolss = yes
rpc start on demand helpers = no

[share]
path = %(d)s/share
read only = no
""" % {"port": self.port, "d": d})
        self.conf = conf
        # the password goes through stdin, never argv
        r = subprocess.run(["smbpasswd", "-c", conf, "-s", "-a", self.user],
                           input=("%s\n%s\n" % (self.password, self.password)).encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise RuntimeError("smbpasswd failed: %s" % r.stdout.decode(errors="replace"))
        # not -i (one connection only), never --no-process-group (see TESTSERVERS.md)
        with open(os.path.join(d, "smbd.out"), "w") as out:
            self.proc = subprocess.Popen(["smbd", "-F", "-s", conf], stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        _wait_port(self.proc, self.port, "smbd", self.log)
        return self

    def url(self, path=""):
        return "smb://127.0.0.1:%d/share/%s" % (self.port, path.lstrip("/"))

    def smbclient(self, command, password=None):
        """Runs one smbclient command against the share; returns (status, output).
        The credentials go through an authentication file, not argv."""
        auth = os.path.join(self.dir, "smbclient.auth")
        with open(os.open(auth, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write("username = %s\npassword = %s\n" % (self.user, password or self.password))
        r = subprocess.run(["smbclient", "//127.0.0.1/share", "-p", str(self.port), "-A", auth,
                            "-s", "/dev/null", "-c", command],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        return r.returncode, r.stdout.decode(errors="replace")


class Ganesha(_Server):
    """ganesha.nfsd exporting self.export_dir as /export over NFSv4 only."""

    def __init__(self, tmpfs_size=None):
        super().__init__("xentui-ganesha-", tmpfs_size)
        self.export_dir = os.path.join(self.dir, "export")
        self.log = os.path.join(self.dir, "ganesha.log")

    def start(self):
        d = self.dir
        self._data_dir(self.export_dir)
        os.makedirs(os.path.join(d, "recov"))
        self.port = free_port()
        mnt_port = free_port()
        conf = os.path.join(d, "ganesha.conf")
        with open(conf, "w") as f:
            f.write("""NFS_CORE_PARAM {
  Bind_addr = 127.0.0.1;
  NFS_Port = %(port)d;
  MNT_Port = %(mnt)d;
  Enable_NLM = false;
  Enable_RQUOTA = false;
  Enable_UDP = false;
  Protocols = 4;
  Plugins_Dir = "%(plugins)s";
}
NFSv4 {
  Graceless = true;
  RecoveryRoot = "%(d)s/recov";
}
EXPORT {
  Export_Id = 1;
  Path = "%(d)s/export";
  Pseudo = "/export";
  Access_Type = RW;
  Squash = No_Root_Squash;
  Transports = TCP;
  SecType = sys;
  FSAL { Name = VFS; }
}
""" % {"port": self.port, "mnt": mnt_port, "plugins": GANESHA_PLUGINS, "d": d})
        with open(os.path.join(d, "ganesha.out"), "w") as out:
            self.proc = subprocess.Popen(["ganesha.nfsd", "-F", "-f", conf, "-L", self.log,
                                          "-p", os.path.join(d, "ganesha.pid")],
                                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _wait_port(self.proc, self.port, "ganesha.nfsd", self.log)
        return self

    def url(self, path=""):
        return "nfs://127.0.0.1/export/%s?version=4&nfsport=%d" % (path.lstrip("/"), self.port)
