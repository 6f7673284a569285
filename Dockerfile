# Build stage: restore and publish the server.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props EventflowDb.sln ./
COPY protocol/ protocol/
COPY server/ server/
RUN dotnet publish server/EventflowDb.Server/EventflowDb.Server.csproj -c Release -o /app --no-self-contained

# Runtime stage: the server alone, data on a volume.
FROM mcr.microsoft.com/dotnet/runtime:10.0
WORKDIR /app
COPY --from=build /app ./
ENV DATA=/data \
    BIND=0.0.0.0 \
    PORT=6543
VOLUME /data
EXPOSE 6543
# Listens on all interfaces, so protected mode requires PASSWORD (or PROTECTED_MODE=no on a trusted network).
ENTRYPOINT ["dotnet", "EventflowDb.Server.dll"]
