// Shares of a machine (this one, or one reached over the network) as the site upgrade removes and puts them back:
// NetShareGetInfo, NetShareDel and NetShareAdd at level 502 (name, path, remark, maximum uses and the share's security
// descriptor, here as SDDL), which Windows NT 4.0 answers as well. Nothing here decides what to change.
using System;
using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Security.AccessControl;

namespace ansible_collections.sms.upgrade.plugins.module_utils.SmsSite
{
    public class ShareDetail
    {
        public string Name;
        public string Path;
        public string Remark;
        public int MaxUses;
        public string Sddl;
        public uint Type;
    }

    [StructLayout(LayoutKind.Sequential, CharSet = CharSet.Unicode)]
    internal struct SHARE_INFO_502
    {
        [MarshalAs(UnmanagedType.LPWStr)] public string netname;
        public uint type;
        [MarshalAs(UnmanagedType.LPWStr)] public string remark;
        public int permissions;
        public int max_uses;
        public int current_uses;
        [MarshalAs(UnmanagedType.LPWStr)] public string path;
        [MarshalAs(UnmanagedType.LPWStr)] public string passwd;
        public int reserved;
        public IntPtr security_descriptor;
    }

    internal static class NativeMethods
    {
        [DllImport("Netapi32.dll", CharSet = CharSet.Unicode)]
        public static extern int NetShareGetInfo(string server, string netname, int level, out IntPtr buffer);

        [DllImport("Netapi32.dll", CharSet = CharSet.Unicode)]
        public static extern int NetShareDel(string server, string netname, int reserved);

        [DllImport("Netapi32.dll", CharSet = CharSet.Unicode)]
        public static extern int NetShareAdd(string server, int level, ref SHARE_INFO_502 buffer, out int parmError);

        [DllImport("Netapi32.dll")]
        public static extern int NetApiBufferFree(IntPtr buffer);

        [DllImport("Advapi32.dll")]
        public static extern int GetSecurityDescriptorLength(IntPtr descriptor);
    }

    public static class Shares
    {
        private const int NERR_NetNameNotFound = 2310;
        private const uint STYPE_DISKTREE = 0;

        private static Win32Exception Failed(int code, string what, string server)
        {
            return new Win32Exception(code, String.Format("{0} on {1} failed: {2}", what,
                String.IsNullOrEmpty(server) ? "this machine" : server, new Win32Exception(code).Message));
        }

        // The share as the machine holds it, or null when there is no share of that name.
        public static ShareDetail Get(string server, string name)
        {
            IntPtr buffer;
            int rc = NativeMethods.NetShareGetInfo(server, name, 502, out buffer);
            if (rc == NERR_NetNameNotFound)
                return null;
            if (rc != 0)
                throw Failed(rc, String.Format("NetShareGetInfo {0}", name), server);
            try
            {
                SHARE_INFO_502 info = (SHARE_INFO_502)Marshal.PtrToStructure(buffer, typeof(SHARE_INFO_502));
                string sddl = null;
                if (info.security_descriptor != IntPtr.Zero)
                {
                    byte[] raw = new byte[NativeMethods.GetSecurityDescriptorLength(info.security_descriptor)];
                    Marshal.Copy(info.security_descriptor, raw, 0, raw.Length);
                    sddl = new RawSecurityDescriptor(raw, 0).GetSddlForm(AccessControlSections.Access);
                }
                return new ShareDetail { Name = info.netname, Path = info.path, Remark = info.remark, MaxUses = info.max_uses,
                    Sddl = sddl, Type = info.type };
            }
            finally
            {
                NativeMethods.NetApiBufferFree(buffer);
            }
        }

        public static void Delete(string server, string name)
        {
            int rc = NativeMethods.NetShareDel(server, name, 0);
            if (rc != 0)
                throw Failed(rc, String.Format("NetShareDel {0}", name), server);
        }

        // A disk share with the given permissions (SDDL of its DACL; null: the system's default for a new share).
        public static void Add(string server, string name, string path, string remark, int maxUses, string sddl)
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
                int rc = NativeMethods.NetShareAdd(server, 502, ref info, out parmError);
                if (rc != 0)
                    throw Failed(rc, String.Format("NetShareAdd {0} ({1})", name, path), server);
            }
            finally
            {
                if (pinned.IsAllocated)
                    pinned.Free();
            }
        }
    }
}
