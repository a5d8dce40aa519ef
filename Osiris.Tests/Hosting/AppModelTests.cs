using Aspire.Hosting;

namespace Osiris.Tests.Hosting;

/// <summary>The app model in each mode, inspected without starting anything.</summary>
public sealed class AppModelTests
{
    [Fact]
    public async Task ContainersModeDeclaresRedisAndPostgresContainersWithDataVolumes()
    {
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Osiris_AppHost>(
            ["--Osiris:Infrastructure=containers"], TestContext.Current.CancellationToken);

        var containers = builder.Resources.OfType<ContainerResource>().ToDictionary(r => r.Name);
        Assert.Contains("redis", containers.Keys);
        Assert.Contains("postgres", containers.Keys);
        Assert.All(containers.Values, c =>
            Assert.Contains(c.Annotations.OfType<ContainerMountAnnotation>(), m => m.Type == ContainerMountType.Volume));
        Assert.Contains(builder.Resources, r => r.Name == "osiris" && r is IResourceWithParent);
    }

    [Theory]
    [InlineData("embedded")]
    [InlineData("local")]
    [InlineData("containers")]
    public async Task EveryModeGivesServicesTheSameConnectionNames(string mode)
    {
        if (mode == "local")
        {
            Fixtures.OptionalSoftware.RequireRedisAndPostgres();
        }
        var dataDir = Directory.CreateTempSubdirectory("osiris-model-").FullName;
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Osiris_AppHost>(
            [$"--Osiris:Infrastructure={mode}", $"--Osiris:DataDir={dataDir}"], TestContext.Current.CancellationToken);

        foreach (var service in new[] { "api", "agent" })
        {
            var project = builder.Resources.OfType<ProjectResource>().Single(r => r.Name == service);
            // Publish-mode evaluation reads the model without allocating endpoints; its replacement needs a running app.
#pragma warning disable CS0618
            var environment = await project.GetEnvironmentVariableValuesAsync(DistributedApplicationOperation.Publish);
#pragma warning restore CS0618
            Assert.Contains("ConnectionStrings__redis", environment.Keys);
            Assert.Contains("ConnectionStrings__osiris", environment.Keys);
        }
        Assert.Equal(mode == "containers", builder.Resources.OfType<ContainerResource>().Any());
    }

    [Fact]
    public async Task ReplicaSettingsSetEachServicesProcessCountAndTheWebStaysOne()
    {
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Osiris_AppHost>(
            ["--Osiris:Infrastructure=embedded", "--Osiris:Replicas:Api=3", "--Osiris:Replicas:Agent=2", "--Osiris:Replicas:McpServer=2"],
            TestContext.Current.CancellationToken);

        int Replicas(string name) =>
            builder.Resources.Single(r => r.Name == name).Annotations.OfType<ReplicaAnnotation>().SingleOrDefault()?.Replicas ?? 1;
        Assert.Equal((3, 2, 2, 1), (Replicas("api"), Replicas("agent"), Replicas("mcpserver"), Replicas("web")));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("17")]
    [InlineData("two")]
    public async Task AnInvalidReplicaCountFailsAtStartNamingTheRange(string value)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Osiris_AppHost>(
                ["--Osiris:Infrastructure=embedded", $"--Osiris:Replicas:Agent={value}"], TestContext.Current.CancellationToken);
        });
        Assert.Contains($"Invalid value '{value}' for setting 'Osiris:Replicas:Agent': a whole number from 1 to 16.", error.ToString());
    }

    [Fact]
    public async Task UnknownInfrastructureModeFailsAtStartNamingTheAllowedValues()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Osiris_AppHost>(
                ["--Osiris:Infrastructure=kubernetes"], TestContext.Current.CancellationToken);
        });

        var message = error.ToString();
        Assert.Contains("kubernetes", message);
        Assert.Contains("auto, containers, local, embedded", message);
    }
}
