using Osiris.McpServer.Hosting;

var commandLine = ServerCommandLine.Parse(args);
if (commandLine.Error is { } error)
{
    Console.Error.WriteLine(error);
    return 2;
}
if (commandLine.Stdio)
{
    await StdioTransport.RunAsync(commandLine.HostArgs);
    return 0;
}

var builder = WebApplication.CreateBuilder(commandLine.HostArgs);
builder.AddServiceDefaults();
builder.AddOsirisMcpHttp();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapOsirisMcp();
app.Run();
return 0;
