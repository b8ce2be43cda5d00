"""The seeded images and SSM public parameters: the data files, then what moto serves."""

from __future__ import annotations

import inspect
import re

import pytest

from envctl.sandbox import SEEDED_REGIONS, public_parameters, reset_cloud, seeded_amis

AMI_ID = re.compile(r"^ami-[0-9a-f]{17}$")
DEEP_LEARNING_X86 = ("/aws/service/deeplearning/ami/x86_64/"
                     "base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id")
DEEP_LEARNING_ARM = ("/aws/service/deeplearning/ami/arm64/"
                     "base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id")
JAMMY_AMD64 = "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id"
CANONICAL = "099720109477"
ARCHITECTURE_WORDS = {"x86_64": ("amd64", "x86_64"), "arm64": ("arm64",)}

# Name patterns of the images the examples need, with their architecture.
REQUIRED_IMAGES = [
    ("Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *", "x86_64"),
    ("Deep Learning ARM64 Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *", "arm64"),
    ("ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*", "x86_64"),
    ("ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-arm64-server-*", "arm64"),
    ("ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*", "x86_64"),
    ("ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-*", "arm64"),
    ("al2023-ami-2023.*-kernel-6.1-x86_64", "x86_64"),
    ("al2023-ami-2023.*-kernel-6.1-arm64", "arm64"),
]


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(re.escape(pattern).replace(r"\*", ".*") + "$")


def test_seeded_ami_ids_are_realistic():
    ids = [ami["ami_id"] for ami in seeded_amis()]

    assert all(AMI_ID.match(ami_id) for ami_id in ids), ids
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(("pattern", "architecture"), REQUIRED_IMAGES)
def test_seeded_amis_cover_required_image(pattern, architecture):
    matches = [ami for ami in seeded_amis() if glob_to_regex(pattern).match(ami["name"])]

    assert matches, pattern
    assert {ami["architecture"] for ami in matches} == {architecture}


def test_seeded_amis_describe_themselves():
    for ami in seeded_amis():
        assert ami["root_device_name"] in ("/dev/sda1", "/dev/xvda"), ami["name"]
        assert ami["description"], ami["name"]
        assert re.fullmatch(r"\d{12}", ami["owner_id"]), ami["name"]
        assert ami["public"] is True, ami["name"]


def test_seeded_amis_use_moto_fields():
    from moto.ec2.models.amis import Ami

    accepted = set(inspect.signature(Ami.__init__).parameters) | {"ami_id"}

    for ami in seeded_amis():
        assert set(ami) <= accepted, sorted(set(ami) - accepted)


def test_public_parameters_name_seeded_images():
    by_id = {ami["ami_id"]: ami for ami in seeded_amis()}

    for name, ami_id in public_parameters().items():
        assert ami_id in by_id, name
        words = ARCHITECTURE_WORDS[by_id[ami_id]["architecture"]]
        assert any(word in name for word in words), name


def test_describe_images_finds_seeded_amis(aws_client):
    ids = sorted(ami["ami_id"] for ami in seeded_amis())

    images = aws_client("ec2").describe_images(ImageIds=ids)["Images"]

    assert sorted(image["ImageId"] for image in images) == ids
    names = {ami["ami_id"]: ami["name"] for ami in seeded_amis()}
    for image in images:
        assert image["Name"] == names[image["ImageId"]]
        assert image["State"] == "available"


@pytest.mark.parametrize("region", SEEDED_REGIONS)
def test_public_parameters_resolve_in_region(aws_client, region):
    ssm = aws_client("ssm", region)
    ec2 = aws_client("ec2", region)

    for name, ami_id in public_parameters().items():
        parameter = ssm.get_parameter(Name=name)["Parameter"]
        assert parameter["Value"] == ami_id, name
        assert ec2.describe_images(ImageIds=[parameter["Value"]])["Images"], name


def test_deep_learning_parameters_point_at_gpu_images(aws_client):
    ssm = aws_client("ssm")
    ec2 = aws_client("ec2")

    for name, architecture in ((DEEP_LEARNING_X86, "x86_64"), (DEEP_LEARNING_ARM, "arm64")):
        ami_id = ssm.get_parameter(Name=name)["Parameter"]["Value"]
        image = ec2.describe_images(ImageIds=[ami_id])["Images"][0]
        assert "Nvidia Driver GPU" in image["Name"]
        assert image["Architecture"] == architecture


def test_name_filter_newest_matches_current_parameter(aws_client):
    pattern = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"

    images = aws_client("ec2").describe_images(
        Owners=[CANONICAL], Filters=[{"Name": "name", "Values": [pattern]}])["Images"]

    assert len(images) == 2
    newest = max(images, key=lambda image: image["CreationDate"])
    current = aws_client("ssm").get_parameter(Name=JAMMY_AMD64)["Parameter"]["Value"]
    assert newest["ImageId"] == current


def test_parameters_by_path_list_deep_learning_images(aws_client):
    found = aws_client("ssm").get_parameters_by_path(
        Path="/aws/service/deeplearning/ami", Recursive=True)["Parameters"]

    assert sorted(parameter["Name"] for parameter in found) == sorted(
        [DEEP_LEARNING_ARM, DEEP_LEARNING_X86])


def test_reset_drops_resources_keeps_seed(aws_client, fresh_cloud):
    ec2 = aws_client("ec2")
    ssm = aws_client("ssm")
    group_id = ec2.create_security_group(GroupName="envctl-reset", Description="t")["GroupId"]
    ssm.put_parameter(Name="/envctl/reset-probe", Value="1", Type="String")

    reset_cloud(fresh_cloud)

    groups = ec2.describe_security_groups()["SecurityGroups"]
    assert group_id not in {group["GroupId"] for group in groups}
    assert ssm.get_parameters(Names=["/envctl/reset-probe"])["InvalidParameters"] == [
        "/envctl/reset-probe"]
    assert ssm.get_parameter(Name=DEEP_LEARNING_X86)["Parameter"]["Version"] == 1
    assert len(ec2.describe_images(ImageIds=[public_parameters()[JAMMY_AMD64]])["Images"]) == 1


def test_reserved_prefix_rejected_for_clients(aws_client):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="reserved parameter name"):
        aws_client("ssm").put_parameter(Name="/aws/service/envctl/probe", Value="x",
                                        Type="String")
