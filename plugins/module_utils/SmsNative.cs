using Microsoft.Win32;
using Microsoft.Win32.SafeHandles;
using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Security.AccessControl;

// Network and registry calls that reach a legacy (Windows NT 4.0 / 9x) machine, for the
// sms.upgrade read-only probes (gather, and the reads of the apply modules). Everything here only reads.
namespace ansible_collections.sms.upgrade.plugins.module_utils.SmsNative
{
    public class ShareInfo
    {
        public string Name;
        public string Path;
        public string Remark;
        public UInt32 Type;
    }

    // One share as NetShareGetInfo level 502 returns it: the permissions (the DACL of its security descriptor) as SDDL.
    public class ShareDetail
    {
        public string Name;
        public string Path;
        public string Remark;
        public int MaxUses;
        public string Sddl;
        public UInt32 Type;
    }

    internal static class NativeMethods
    {
        [DllImport("Netapi32.dll", CharSet = CharSet.Unicode)]
        public static extern int NetShareGetInfo(string serverName, string netName, int level, out IntPtr buffer);

        [DllImport("Advapi32.dll")]
        public static extern int GetSecurityDescriptorLength(IntPtr descriptor);

        [DllImport("Netapi32.dll", CharSet = CharSet.Unicode)]
        public static extern int NetShareEnum(string serverName, int level, out IntPtr buffer, int preferredMaximumLength,
            out int entriesRead, out int totalEntries, ref int resumeHandle);

        [DllImport("Netapi32.dll")]
        public static extern int NetApiBufferFree(IntPtr buffer);

        [DllImport("Advapi32.dll", CharSet = CharSet.Unicode)]
        public static extern int RegLoadAppKeyW(string file, out SafeRegistryHandle key, int samDesired, int options, int reserved);

        [DllImport("Kernel32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        public static extern bool GetDiskFreeSpaceExW(string directory, out UInt64 freeToCaller, out UInt64 total, out UInt64 free);

        [DllImport("Kernel32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        public static extern bool GetVolumeInformationW(string root, System.Text.StringBuilder volumeName, int volumeNameSize,
            out UInt32 serial, out UInt32 maxComponentLength, out UInt32 flags, System.Text.StringBuilder fileSystem, int fileSystemSize);
    }

    [StructLayout(LayoutKind.Sequential, CharSet = CharSet.Unicode)]
    internal struct SHARE_INFO_1
    {
        public string netname;
        public UInt32 type;
        public string remark;
    }

    [StructLayout(LayoutKind.Sequential, CharSet = CharSet.Unicode)]
    internal struct SHARE_INFO_502
    {
        public string netname;
        public UInt32 type;
        public string remark;
        public UInt32 permissions;
        public int max_uses;
        public UInt32 current_uses;
        public string path;
        public string passwd;
        public UInt32 reserved;
        public IntPtr security_descriptor;
    }

    [StructLayout(LayoutKind.Sequential, CharSet = CharSet.Unicode)]
    internal struct SHARE_INFO_2
    {
        public string netname;
        public UInt32 type;
        public string remark;
        public UInt32 permissions;
        public UInt32 max_uses;
        public UInt32 current_uses;
        public string path;
        public string passwd;
    }

    public static class Shares
    {
        private const int ERROR_ACCESS_DENIED = 5;
        private const int ERROR_MORE_DATA = 234;
        private const int NERR_NetNameNotFound = 2310;
        private const int MAX_PREFERRED_LENGTH = -1;

        // One share by name (NetShareGetInfo level 502, which Windows NT 4.0 answers; needs administrator rights on
        // the target), or null when the machine has no share of that name.
        public static ShareDetail Get(string server, string name)
        {
            IntPtr buffer;
            int rc = NativeMethods.NetShareGetInfo(server, name, 502, out buffer);
            if (rc == NERR_NetNameNotFound)
                return null;
            if (rc != 0)
                throw new Win32Exception(rc, String.Format("NetShareGetInfo {0} on {1} failed", name, server ?? "localhost"));
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

        // NetShareEnum level 2 (name, type, remark, path; needs administrator rights on the
        // target); falls back to level 1 (no path) when level 2 is denied, e.g. on Windows 9x.
        public static List<ShareInfo> Enumerate(string server)
        {
            try
            {
                return EnumerateLevel(server, 2);
            }
            catch (Win32Exception e)
            {
                if (e.NativeErrorCode != ERROR_ACCESS_DENIED)
                    throw;
                return EnumerateLevel(server, 1);
            }
        }

        private static List<ShareInfo> EnumerateLevel(string server, int level)
        {
            List<ShareInfo> shares = new List<ShareInfo>();
            int resume = 0;
            int rc;
            do
            {
                IntPtr buffer;
                int read, total;
                rc = NativeMethods.NetShareEnum(server, level, out buffer, MAX_PREFERRED_LENGTH, out read, out total, ref resume);
                if (rc != 0 && rc != ERROR_MORE_DATA)
                    throw new Win32Exception(rc, String.Format("NetShareEnum level {0} on {1} failed", level, server ?? "localhost"));
                try
                {
                    Type type = level == 2 ? typeof(SHARE_INFO_2) : typeof(SHARE_INFO_1);
                    int size = Marshal.SizeOf(type);
                    for (int i = 0; i < read; i++)
                    {
                        IntPtr item = new IntPtr(buffer.ToInt64() + (long)i * size);
                        if (level == 2)
                        {
                            SHARE_INFO_2 info = (SHARE_INFO_2)Marshal.PtrToStructure(item, type);
                            shares.Add(new ShareInfo { Name = info.netname, Path = info.path, Remark = info.remark, Type = info.type });
                        }
                        else
                        {
                            SHARE_INFO_1 info = (SHARE_INFO_1)Marshal.PtrToStructure(item, type);
                            shares.Add(new ShareInfo { Name = info.netname, Path = null, Remark = info.remark, Type = info.type });
                        }
                    }
                }
                finally
                {
                    if (buffer != IntPtr.Zero)
                        NativeMethods.NetApiBufferFree(buffer);
                }
            } while (rc == ERROR_MORE_DATA);
            return shares;
        }
    }

    public static class Hives
    {
        private const int KEY_READ = 0x20019;
        private const int REG_PROCESS_APPKEY = 0x1;

        // Loads a hive file as a private application hive for reading. Disposing the returned key
        // unloads it. Only ever called on a temporary copy, so the user's NTUSER.DAT is never opened
        // for writing.
        public static RegistryKey LoadReadOnly(string hiveFile)
        {
            SafeRegistryHandle handle;
            int rc = NativeMethods.RegLoadAppKeyW(hiveFile, out handle, KEY_READ, REG_PROCESS_APPKEY, 0);
            if (rc != 0)
                throw new Win32Exception(rc, String.Format("RegLoadAppKey {0} failed", hiveFile));
            return RegistryKey.FromHandle(handle);
        }
    }

    public static class Volumes
    {
        // Returns { total MB, free MB } for a root such as C:\ or \\SERVER\C$\.
        public static UInt64[] SpaceMB(string root)
        {
            UInt64 toCaller, total, free;
            if (!NativeMethods.GetDiskFreeSpaceExW(root, out toCaller, out total, out free))
                throw new Win32Exception(Marshal.GetLastWin32Error(), String.Format("GetDiskFreeSpaceEx {0} failed", root));
            return new UInt64[] { total / 1048576, free / 1048576 };
        }

        public static string FileSystem(string root)
        {
            System.Text.StringBuilder name = new System.Text.StringBuilder(261);
            System.Text.StringBuilder fs = new System.Text.StringBuilder(261);
            UInt32 serial, maxLength, flags;
            if (!NativeMethods.GetVolumeInformationW(root, name, name.Capacity, out serial, out maxLength, out flags, fs, fs.Capacity))
                throw new Win32Exception(Marshal.GetLastWin32Error(), String.Format("GetVolumeInformation {0} failed", root));
            return fs.ToString();
        }
    }
}
