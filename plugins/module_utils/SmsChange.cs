using Microsoft.Win32;
using Microsoft.Win32.SafeHandles;
using System;
using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Security.AccessControl;
using System.Threading;

// Calls that change a (possibly remote, Windows NT 4.0) machine for the sms.upgrade apply modules:
// a service's start type through the service control manager, a share removed or created again with its
// permissions through the NetShare API, and a user hive loaded from an NTUSER.DAT through RegLoadKey on the
// machine's HKEY_USERS. Only the explicit changes planned on the controller go through here.
namespace ansible_collections.sms.upgrade.plugins.module_utils.SmsChange
{
    [StructLayout(LayoutKind.Sequential, CharSet = CharSet.Unicode)]
    internal struct SHARE_INFO_502
    {
        public string netname;
        public uint type;
        public string remark;
        public uint permissions;
        public int max_uses;
        public uint current_uses;
        public string path;
        public string passwd;
        public uint reserved;
        public IntPtr security_descriptor;
    }

    internal static class NativeMethods
    {
        [DllImport("Netapi32.dll", CharSet = CharSet.Unicode)]
        public static extern int NetShareDel(string serverName, string netName, int reserved);

        [DllImport("Netapi32.dll", CharSet = CharSet.Unicode)]
        public static extern int NetShareAdd(string serverName, int level, ref SHARE_INFO_502 buffer, out int parmError);

        [DllImport("Advapi32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
        public static extern IntPtr OpenSCManagerW(string machineName, string databaseName, uint desiredAccess);

        [DllImport("Advapi32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
        public static extern IntPtr OpenServiceW(IntPtr manager, string serviceName, uint desiredAccess);

        [DllImport("Advapi32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        public static extern bool ChangeServiceConfigW(IntPtr service, uint serviceType, uint startType, uint errorControl,
            string binaryPathName, string loadOrderGroup, IntPtr tagId, string dependencies, string serviceStartName,
            string password, string displayName);

        [DllImport("Advapi32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        public static extern bool CloseServiceHandle(IntPtr handle);

        [DllImport("Advapi32.dll", CharSet = CharSet.Unicode)]
        public static extern int RegConnectRegistryW(string machineName, UIntPtr hive, out SafeRegistryHandle result);

        [DllImport("Advapi32.dll", CharSet = CharSet.Unicode)]
        public static extern int RegLoadKeyW(SafeRegistryHandle key, string subKey, string file);

        [DllImport("Advapi32.dll", CharSet = CharSet.Unicode)]
        public static extern int RegUnLoadKeyW(SafeRegistryHandle key, string subKey);
    }

    internal static class Errors
    {
        // "<what> failed (<Windows message>, Win32ErrorCode <code>)", keeping the system's text (as win_regedit does).
        public static Win32Exception Failed(int code, string what)
        {
            return new Win32Exception(code, String.Format("{0} failed ({1}, Win32ErrorCode {2})", what, new Win32Exception(code).Message, code));
        }

        public static string Machine(string machine)
        {
            return String.IsNullOrEmpty(machine) ? "localhost" : machine;
        }
    }

    public static class ServiceConfig
    {
        private const uint SC_MANAGER_CONNECT = 0x0001;
        private const uint SERVICE_QUERY_CONFIG = 0x0001;
        private const uint SERVICE_CHANGE_CONFIG = 0x0002;
        private const uint SERVICE_NO_CHANGE = 0xFFFFFFFF;

        // Sets the start type (2 automatic, 3 manual, 4 disabled) of a service on a machine (null or empty: this one).
        public static void SetStartType(string machine, string service, uint startType)
        {
            IntPtr manager = NativeMethods.OpenSCManagerW(machine, null, SC_MANAGER_CONNECT);
            if (manager == IntPtr.Zero)
                throw Errors.Failed(Marshal.GetLastWin32Error(), String.Format("OpenSCManager on {0}", Errors.Machine(machine)));
            try
            {
                IntPtr handle = NativeMethods.OpenServiceW(manager, service, SERVICE_QUERY_CONFIG | SERVICE_CHANGE_CONFIG);
                if (handle == IntPtr.Zero)
                    throw Errors.Failed(Marshal.GetLastWin32Error(), String.Format("OpenService {0}", service));
                try
                {
                    if (!NativeMethods.ChangeServiceConfigW(handle, SERVICE_NO_CHANGE, startType, SERVICE_NO_CHANGE,
                            null, null, IntPtr.Zero, null, null, null, null))
                        throw Errors.Failed(Marshal.GetLastWin32Error(), String.Format("ChangeServiceConfig {0}", service));
                }
                finally
                {
                    NativeMethods.CloseServiceHandle(handle);
                }
            }
            finally
            {
                NativeMethods.CloseServiceHandle(manager);
            }
        }
    }

    public static class ShareConfig
    {
        private const uint STYPE_DISKTREE = 0;

        // Removes a share of a machine (null or empty: this one); the directory it shares is not touched.
        public static void Delete(string machine, string name)
        {
            int rc = NativeMethods.NetShareDel(machine, name, 0);
            if (rc != 0)
                throw Errors.Failed(rc, String.Format("NetShareDel {0} on {1}", name, Errors.Machine(machine)));
        }

        // Creates a disk share with the given permissions (the SDDL of its DACL; null: the system's default for a new
        // share) and maximum uses (-1: unlimited).
        public static void Add(string machine, string name, string path, string remark, int maxUses, string sddl)
        {
            SHARE_INFO_502 info = new SHARE_INFO_502 { netname = name, type = STYPE_DISKTREE, remark = remark,
                max_uses = maxUses, path = path, security_descriptor = IntPtr.Zero };
            GCHandle pinned = new GCHandle();
            try
            {
                if (!String.IsNullOrEmpty(sddl))
                {
                    RawSecurityDescriptor descriptor = new RawSecurityDescriptor(sddl);
                    byte[] raw = new byte[descriptor.BinaryLength];
                    descriptor.GetBinaryForm(raw, 0);
                    pinned = GCHandle.Alloc(raw, GCHandleType.Pinned);
                    info.security_descriptor = pinned.AddrOfPinnedObject();
                }
                int parmError;
                int rc = NativeMethods.NetShareAdd(machine, 502, ref info, out parmError);
                if (rc != 0)
                    throw Errors.Failed(rc, String.Format("NetShareAdd {0} ({1}) on {2}", name, path, Errors.Machine(machine)));
            }
            finally
            {
                if (pinned.IsAllocated)
                    pinned.Free();
            }
        }
    }

    // A user hive file (NTUSER.DAT) loaded under HKEY_USERS\<name> of a machine, writable. Unload() unloads it and
    // returns null, or the reason it could not; Dispose() unloads without throwing. The file path is as the machine
    // sees it. The caller holds SeBackupPrivilege and SeRestorePrivilege (on the machine whose registry it is).
    public sealed class HiveMount : IDisposable
    {
        private static readonly UIntPtr HKEY_USERS = new UIntPtr(0x80000003u);
        private readonly SafeRegistryHandle users;
        private bool loaded;
        public readonly string Name;

        public HiveMount(string machine, string hiveFile, string name)
        {
            Name = name;
            int rc = NativeMethods.RegConnectRegistryW(machine, HKEY_USERS, out users);
            if (rc != 0)
                throw Errors.Failed(rc, String.Format("RegConnectRegistry HKEY_USERS on {0}", Errors.Machine(machine)));
            rc = NativeMethods.RegLoadKeyW(users, name, hiveFile);
            if (rc != 0)
            {
                users.Dispose();
                throw Errors.Failed(rc, String.Format("RegLoadKey {0}", hiveFile));
            }
            loaded = true;
        }

        public string Unload()
        {
            if (!loaded)
                return null;
            // Handles to keys inside the hive keep it busy for a moment after they are closed.
            int rc = 0;
            for (int attempt = 0; attempt < 10; attempt++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                rc = NativeMethods.RegUnLoadKeyW(users, Name);
                if (rc == 0)
                    break;
                Thread.Sleep(200);
            }
            if (rc != 0)
                return Errors.Failed(rc, String.Format("RegUnLoadKey {0}", Name)).Message;
            loaded = false;
            users.Dispose();
            return null;
        }

        public void Dispose()
        {
            Unload();
        }
    }
}
