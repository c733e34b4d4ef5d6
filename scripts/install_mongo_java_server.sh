#!/usr/bin/env bash
# Installs the embedded MongoDB-protocol engine into .tools/mongo-java-server/: the jars of
# mongo-java-server (memory backend) fetched from Maven Central by Maven
# (tools/mongo-java-server/pom.xml), and our launcher (tools/mongo-java-server/src/) compiled
# against them with javac. Built into a scratch folder and moved in place, so a failed run
# never leaves half an install that looks complete.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sources="$root/tools/mongo-java-server"
home="$root/.tools/mongo-java-server"
for tool in mvn javac; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (Debian: apt-get install maven default-jdk-headless)" >&2; exit 1; }
done
scratch="$home.partial"
rm -rf "$scratch"
mkdir -p "$scratch"
mvn --batch-mode --file "$sources/pom.xml" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$scratch/lib" >"$scratch/maven.log" 2>&1 \
  || { cat "$scratch/maven.log" >&2; exit 1; }
javac --release 17 -nowarn -d "$scratch/classes" -cp "$scratch/lib/*" "$sources/src/EmbeddedMongo.java"
rm -rf "$home"
mv "$scratch" "$home"
echo "installed mongo-java-server $(ls "$home/lib" | sed -n 's/^mongo-java-server-core-\(.*\)\.jar$/\1/p') into .tools/mongo-java-server"
