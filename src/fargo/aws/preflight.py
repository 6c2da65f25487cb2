"""What `fargo deploy` checks in AWS before terraform runs: the image and the network.

A task definition can point at an image the registry does not have, or at subnets that do not
exist, and AWS accepts it; the job then fails at its first run, hours later. These checks turn
both into one message at deploy time, with the command that fixes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fargo.aws.session import account_id, aws_errors, client
from fargo.problems import Problem
from fargo.project import names
from fargo.project.model import Project
from fargo.project.paths import CONFIG_FILE

_ECR = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([^:@]+)$")
CONFIG = CONFIG_FILE


@dataclass
class ImageChoice:
    """The image deploy will use, and what stands against it."""

    variables: dict[str, str] = field(default_factory=dict)
    reference: str | None = None
    problems: list[Problem] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def app_repository(project: Project) -> str:
    """The app's own ECR repository URL in the stage's account and region."""
    region = project.stage.aws_region
    account = project.stage.account or account_id(region)
    return names.ecr_url(account, region, project.app_name)


def ensure_repository(project: Project, repository: str) -> bool:
    """Create the app's ECR repository when missing; True when it was created.

    It belongs to the app, not to a stage: every stage pulls from it and no stage destroys it.
    """
    match = _ECR.match(repository)
    if match is None:
        return False
    ecr = client("ecr", match.group(2))
    with aws_errors(f"creating the ECR repository {match.group(3)}"):
        try:
            ecr.create_repository(
                repositoryName=match.group(3), registryId=match.group(1),
                imageTagMutability="IMMUTABLE",
                imageScanningConfiguration={"scanOnPush": True},
                encryptionConfiguration={"encryptionType": "AES256"},
                tags=[{"Key": "fargo:app", "Value": project.app_name},
                      {"Key": "managed-by", "Value": "fargo"}])
        except ecr.exceptions.RepositoryAlreadyExistsException:
            return False
    return True


def image_in_registry(repository: str, tag: str) -> bool | None:
    """True/False for an ECR repository, or a registry that answers the Registry API without
    a login; None when it cannot be checked (Docker Hub, a registry that wants a login)."""
    match = _ECR.match(repository)
    if match is None:
        return _registry_has(repository, tag)
    ecr = client("ecr", match.group(2))
    with aws_errors(f"looking up {repository}:{tag}"):
        try:
            ecr.describe_images(registryId=match.group(1), repositoryName=match.group(3),
                                imageIds=[{"imageTag": tag}])
        except (ecr.exceptions.ImageNotFoundException,
                ecr.exceptions.RepositoryNotFoundException):
            return False
    return True


_MANIFESTS = ", ".join((
    "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json"))


def _registry_has(repository: str, tag: str) -> bool | None:
    """Ask the registry (Registry HTTP API v2) whether it has the tag's manifest."""
    import ipaddress
    import urllib.error
    import urllib.parse
    import urllib.request

    host, _, path = repository.partition("/")
    if not path or not ("." in host or ":" in host or host == "localhost"):
        return None  # Docker Hub: its API wants a token even to read
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    try:
        loopback = name == "localhost" or ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    scheme = "http" if loopback else "https"  # as Docker treats a loopback registry
    url = f"{scheme}://{host}/v2/{path}/manifests/{urllib.parse.quote(tag, safe='')}"
    request = urllib.request.Request(url, method="HEAD", headers={"Accept": _MANIFESTS})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return bool(answer.status == 200)
    except urllib.error.HTTPError as exc:
        return False if exc.code == 404 else None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _split(image: str) -> tuple[str, str | None]:
    """(repository, tag or digest) of a stage `image`."""
    if "@" in image:
        repository, digest = image.split("@", 1)
        return repository, digest
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        repository, tag = image.rsplit(":", 1)
        return repository, tag
    return image, None


def choose_image(project: Project, image_tag: str | None) -> ImageChoice:
    """The tag to deploy and every reason not to: no build, stale build, not in the registry."""
    from fargo.packaging.image import context_digest, last_build

    choice = ImageChoice()
    if not any(t.compute == "fargate" for t in project.tasks):
        return choice
    stage = project.stage.name
    build = f"fargo build --stage {stage} --push"
    configured = project.stage.image
    repository, pinned = _split(configured) if configured else (app_repository(project), None)
    if pinned is not None:
        choice.reference = configured
        if "@" in (configured or ""):
            return choice  # a digest names exactly one image; ECR lookup by digest not needed
        tag = pinned
    elif image_tag is not None:
        tag = image_tag
        choice.variables["image_tag"] = tag
    else:
        built = last_build(project)
        if built is None:
            choice.problems.append(Problem(
                f"no image was built for stage {stage}: run `{build}` (or `fargo deploy --stage "
                f"{stage} --build`), or deploy an image that is already pushed with --image-tag "
                "TAG", key="image"))
            return choice
        tag = built.tag
        choice.variables["image_tag"] = tag
        if built.context_digest != context_digest(project):
            choice.problems.append(Problem(
                f"the code changed since image {tag} was built: run `{build}` to ship the "
                f"current code, or pass --image-tag {tag} to deploy that image on purpose",
                key="image"))
    choice.reference = f"{repository}:{tag}"
    present = image_in_registry(repository, tag)
    if present is False:
        choice.problems.append(Problem(
            f"{repository}:{tag} is not in the registry: push it with `{build}` (with a Docker "
            "engine), or pass --image-tag with a tag that was pushed", key="image"))
    elif present is None:
        choice.notices.append(f"{repository} is not an ECR repository: fargo cannot check "
                              f"that {tag} was pushed")
    return choice


def network_problems(project: Project) -> list[Problem]:
    """Subnets and security groups the stage's jobs name but the account does not have."""
    subnets = sorted({s for t in project.tasks for s in t.subnets})
    groups = sorted({g for t in project.tasks for g in t.security_groups})
    if not subnets and not groups:
        return []
    from botocore.exceptions import ClientError

    region = project.stage.aws_region
    ec2 = client("ec2", region)
    problems = []
    for kind, ids, call, key in (("subnet", subnets, "describe_subnets", "Subnets"),
                                 ("security group", groups, "describe_security_groups",
                                  "SecurityGroups")):
        if not ids:
            continue
        found: set[str] = set()
        with aws_errors(f"looking up the stage's {kind}s"):
            for one in ids:  # one by one: a single unknown id fails the whole call
                try:
                    response = getattr(ec2, call)(**{
                        "SubnetIds" if kind == "subnet" else "GroupIds": [one]})
                except ClientError as exc:
                    code = exc.response.get("Error", {}).get("Code", "")
                    if "NotFound" in code or "Malformed" in code:
                        continue
                    raise
                if response.get(key):
                    found.add(one)
        setting = "subnets" if kind == "subnet" else "security_groups"
        for missing in [i for i in ids if i not in found]:
            problems.append(Problem(
                f"{kind} {missing} does not exist in {region} (account "
                f"{project.stage.account or 'of your credentials'}): set the stage's {setting} "
                "to ids of your VPC", CONFIG, f"stages.{project.stage.name}.{setting}"))
    return problems


def eventbridge_buckets(project: Project) -> dict[str, list[str]]:
    """Buckets whose S3 events reach Fargate jobs only through EventBridge: bucket -> jobs."""
    buckets: dict[str, list[str]] = {}
    for spec in project.tasks:
        if spec.compute == "fargate":
            for trigger in spec.s3:
                buckets.setdefault(str(trigger["bucket"]), []).append(spec.name)
    return buckets


def bucket_notices(project: Project) -> list[tuple[bool, str]]:
    """Each such bucket: (it sends its events to EventBridge, what to say). Read, never
    changed."""
    buckets = eventbridge_buckets(project)
    if not buckets:
        return []
    owned = {str(t["bucket"]) for s in project.tasks if s.compute == "lambda" for t in s.s3}
    from botocore.exceptions import BotoCoreError, ClientError

    s3 = client("s3", project.stage.aws_region)
    said = []
    for bucket, jobs in sorted(buckets.items()):
        who = ", ".join(jobs)
        if bucket in owned:  # its notifications are this stage's (Lambda triggers)
            said.append((True, f"S3 bucket {bucket}: deploy keeps its EventBridge events on "
                         f"({who}), with its Lambda notifications"))
            continue
        try:
            config = s3.get_bucket_notification_configuration(Bucket=bucket)
        except (ClientError, BotoCoreError) as exc:
            said.append((False, f"S3 bucket {bucket} (events for {who}) must send its events "
                         f"to EventBridge; its notification configuration cannot be read here "
                         f"({exc}): check that EventBridge notifications are on"))
            continue
        if "EventBridgeConfiguration" in config:
            said.append((True, f"S3 bucket {bucket} sends its events to EventBridge ({who})"))
        else:
            said.append((False,
                f"S3 bucket {bucket} does not send its events to EventBridge: {who} will not "
                "start on its objects until it does. fargo does not change buckets it does not "
                "own; turn it on in the S3 console (Properties, Amazon EventBridge) or with "
                f"put-bucket-notification-configuration --bucket {bucket}, adding "
                '"EventBridgeConfiguration": {} to its current configuration'))
    return said
