// Stand-in for an SMS 1.2 service on an sms.upgrade lab VM (role sms.upgrade.lab_seed). The role compiles it on
// the VM with the .NET Framework 4 csc.exe and registers it once per service name ("SmsLabService.exe <name>").
// It only answers the service control manager (start, stop); it reads, writes and listens to nothing.
using System.ServiceProcess;

public sealed class SmsLabService : ServiceBase
{
    public SmsLabService(string name)
    {
        ServiceName = name;
        AutoLog = false;
        CanStop = true;
    }

    public static void Main(string[] args)
    {
        ServiceBase.Run(new SmsLabService(args.Length > 0 ? args[0] : "SmsLabService"));
    }
}
